import { Inject, Injectable } from '@nestjs/common';
import { TtlCache } from '@lhcms/cache';
import { Env } from '@lhcms/config';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';

export interface VerifiedClaims extends JWTPayload {
  sub: string;
  exp: number;
}

export class TokenRejected extends Error {}

const CLOCK_TOLERANCE_S = 5;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Local checks before any network call (docs/api.md, "Authentication and the lab"): malformed token,
 * algorithm outside the allowlist (never `none`; HMAC and asymmetric never
 * mixed, so an RS public key cannot be abused as an HS secret), signature
 * when a secret or JWKS is configured, expiry and not-before, and the `type`
 * claim (a refresh token is not an access token).
 */
@Injectable()
export class TokenVerifier {
  private readonly algorithms: string[];
  private readonly secret?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly verified = new TtlCache<string, VerifiedClaims>(10_000);

  constructor(@Inject(Env) env: Env) {
    this.algorithms = env.JWT_ALGORITHM.filter((a) => a.toLowerCase() !== 'none');
    if (env.UMS_JWKS_URL) {
      this.jwks = createRemoteJWKSet(new URL(env.UMS_JWKS_URL), {
        timeoutDuration: env.UMS_TIMEOUT_MS,
      });
    } else if (env.JWT_SECRET_KEY) {
      this.secret = new TextEncoder().encode(env.JWT_SECRET_KEY);
    }
  }

  /** True when signatures are checked locally (a secret or a JWKS is configured). */
  get verifiesSignatures(): boolean {
    return Boolean(this.secret ?? this.jwks);
  }

  /**
   * A token that verified once verifies again until it expires (same bytes,
   * same key): the result is remembered, bounded, and expiry and not-before
   * are re-checked on every use. Signature checks cost ~0.1 ms each with
   * WebCrypto; a board refresh repeats the same token many times.
   */
  async verify(token: string): Promise<VerifiedClaims> {
    const known = this.verified.get(token);
    if (known) {
      const now = Math.floor(Date.now() / 1000);
      if (known.exp + CLOCK_TOLERANCE_S < now) throw new TokenRejected('expired');
      if (typeof known.nbf === 'number' && known.nbf - CLOCK_TOLERANCE_S > now)
        throw new TokenRejected('not yet valid');
      return known;
    }
    const claims = await this.verifyAfresh(token);
    this.verified.set(token, claims, (claims.exp + CLOCK_TOLERANCE_S) * 1000);
    return claims;
  }

  private async verifyAfresh(token: string): Promise<VerifiedClaims> {
    if (token.length > 8192 || !JWT_SHAPE.test(token)) throw new TokenRejected('malformed');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRejected('malformed header');
    }
    if (!alg || !this.algorithms.includes(alg))
      throw new TokenRejected(`algorithm ${alg} not allowed`);

    let payload: JWTPayload;
    try {
      if (this.jwks) {
        ({ payload } = await jwtVerify(token, this.jwks, {
          algorithms: this.algorithms,
          clockTolerance: CLOCK_TOLERANCE_S,
        }));
      } else if (this.secret) {
        ({ payload } = await jwtVerify(token, this.secret, {
          algorithms: this.algorithms,
          clockTolerance: CLOCK_TOLERANCE_S,
        }));
      } else {
        payload = decodeJwt(token);
        const now = Math.floor(Date.now() / 1000);
        if (typeof payload.exp === 'number' && payload.exp + CLOCK_TOLERANCE_S < now) {
          throw new TokenRejected('expired');
        }
        if (typeof payload.nbf === 'number' && payload.nbf - CLOCK_TOLERANCE_S > now) {
          throw new TokenRejected('not yet valid');
        }
      }
    } catch (err) {
      if (err instanceof TokenRejected) throw err;
      throw new TokenRejected('signature or claims invalid');
    }
    if (typeof payload.exp !== 'number') throw new TokenRejected('no expiry');
    if (payload.type !== undefined && payload.type !== 'access')
      throw new TokenRejected('not an access token');
    const sub = payload.sub as unknown;
    if (typeof sub !== 'string' && typeof sub !== 'number') throw new TokenRejected('no subject');
    return { ...payload, sub: String(sub), exp: payload.exp };
  }
}
