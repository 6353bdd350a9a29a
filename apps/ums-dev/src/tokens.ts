import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

export type TokenType = 'access' | 'refresh';

export interface TokenSettings {
  secret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

export class TokenError extends Error {
  constructor(
    readonly status: 401 | 422,
    message: string,
  ) {
    super(message);
  }
}

/** HS256 tokens shaped like Flask-JWT-Extended's (string `sub`, `type`, `jti`, `fresh`). */
export class Tokens {
  private readonly key: Uint8Array;

  constructor(private readonly s: TokenSettings) {
    this.key = new TextEncoder().encode(s.secret);
  }

  sign(userId: number, type: TokenType): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const ttl = type === 'access' ? this.s.accessTtlSeconds : this.s.refreshTtlSeconds;
    return new SignJWT({ type, fresh: false })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .sign(this.key);
  }

  /** Verifies a Bearer token of the given type; errors carry the UMS's status and message. */
  async verify(authorization: string | undefined, type: TokenType): Promise<JWTPayload> {
    if (!authorization) throw new TokenError(401, 'Missing Authorization Header');
    const [scheme, token] = authorization.split(' ');
    if (scheme !== 'Bearer' || !token)
      throw new TokenError(422, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenError(401, 'Token has expired');
      if (err instanceof errors.JWSSignatureVerificationFailed)
        throw new TokenError(422, 'Signature verification failed');
      throw new TokenError(422, 'Not enough segments');
    }
    if (payload.type !== type) {
      throw new TokenError(
        422,
        type === 'access'
          ? 'Only non-refresh tokens are allowed'
          : 'Only refresh tokens are allowed',
      );
    }
    return payload;
  }
}
