import { Inject, Injectable } from '@nestjs/common';
import { TtlCache } from '@lhcms/cache';
import { Env } from '@lhcms/config';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type CompactJWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { createSecretKey, KeyObject } from 'node:crypto';
import { Strategy, type StrategyOptions } from 'passport-jwt';

type StrategyOptionsWithRequest = Extract<StrategyOptions, { passReqToCallback: true }>;
type Algorithm = NonNullable<StrategyOptions['algorithms']>[number];

export interface VerifiedClaims extends JWTPayload {
  sub: string;
  exp: number;
}

export class TokenRejected extends Error {}

/** What the passport-jwt strategy reads a token from: the guard parses the header (401 codes) first. */
export interface TokenRequest {
  token: string;
}

const CLOCK_TOLERANCE_S = 5;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Local checks before any network call (docs/api.md, "Authentication and the lab"), run by the
 * passport-jwt strategy (jsonwebtoken) in three steps (docs/adr/0009-passport-jwt-and-axios.md):
 *
 * 1. `keyFor` (passport-jwt's `secretOrKeyProvider`): malformed token and
 *    algorithm outside the allowlist are refused before any key is looked
 *    up (never `none`; HMAC and asymmetric never mixed, so an RS public key
 *    cannot be abused as an HS secret); then the key: the HS secret, or the
 *    JWKS key for the header's `kid`/`alg` (jose fetches, caches and rotates
 *    the set; the token's own `jwk`/`jku`/`x5u` headers are never used).
 * 2. jsonwebtoken (inside passport-jwt): signature with that key and the same
 *    allowlist, expiry and not-before with CLOCK_TOLERANCE_S.
 * 3. `checkClaims` (first thing in the strategy's validate()): an expiry, a
 *    subject, and the `type` claim (a refresh token is not an access token).
 *
 * Without a secret or JWKS (outside production only) signatures cannot be
 * checked locally; `verify` then decodes and checks shape, algorithm, expiry,
 * not-before and type, and the UMS decides.
 */
@Injectable()
export class TokenVerifier {
  readonly algorithms: Algorithm[];
  /** A KeyObject made once: HMAC with a raw Buffer key imports the key on every call. */
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;
  /** jose's WebCrypto keys as node KeyObjects (what jsonwebtoken takes), per JWKS key. */
  private readonly keyObjects = new WeakMap<object, KeyObject>();
  /** Tokens that passed all three steps, until they expire (see remembered()). */
  private readonly verified = new TtlCache<string, VerifiedClaims>(10_000);
  /** A bare passport-jwt strategy with the same options, for verify(). */
  private readonly strategy: Strategy;

  constructor(@Inject(Env) env: Env) {
    this.algorithms = env.JWT_ALGORITHM.filter((a) => a.toLowerCase() !== 'none') as Algorithm[];
    if (env.UMS_JWKS_URL) {
      this.jwks = createRemoteJWKSet(new URL(env.UMS_JWKS_URL), {
        timeoutDuration: env.UMS_TIMEOUT_MS,
      });
    } else if (env.JWT_SECRET_KEY) {
      this.secret = createSecretKey(Buffer.from(env.JWT_SECRET_KEY, 'utf8'));
    }
    this.strategy = new Strategy(this.strategyOptions(), (_req, payload, done) => {
      try {
        done(null, this.checkClaims(payload));
      } catch (err) {
        done(err, false);
      }
    });
  }

  /** True when signatures are checked locally (a secret or a JWKS is configured). */
  get verifiesSignatures(): boolean {
    return Boolean(this.secret ?? this.jwks);
  }

  /** The passport-jwt options: the Nest strategy and verify() share them. */
  strategyOptions(): StrategyOptionsWithRequest {
    return {
      jwtFromRequest: (req: TokenRequest) => req.token,
      secretOrKeyProvider: (_req: unknown, raw: string, done) => {
        this.keyFor(raw).then(
          (key) => done(null, key as unknown as Buffer), // jsonwebtoken takes KeyObjects; the typings predate them
          (err: unknown) => done(err),
        );
      },
      algorithms: this.algorithms,
      jsonWebTokenOptions: { clockTolerance: CLOCK_TOLERANCE_S },
      passReqToCallback: true,
    };
  }

  /** Step 1: shape and algorithm, then the key to verify with. Rejections are TokenRejected. */
  async keyFor(token: string): Promise<KeyObject> {
    const header = this.checkedHeader(token);
    if (this.secret) return this.secret;
    if (!this.jwks) throw new TokenRejected('no key configured');
    const [protectedHeader, payload, signature] = token.split('.');
    let key: unknown;
    try {
      key = await this.jwks(header, { protected: protectedHeader, payload, signature });
    } catch {
      throw new TokenRejected('no matching JWKS key');
    }
    if (key instanceof KeyObject) return key;
    const known = this.keyObjects.get(key as object);
    if (known) return known;
    const converted = KeyObject.from(key as Parameters<typeof KeyObject.from>[0]);
    this.keyObjects.set(key as object, converted);
    return converted;
  }

  /** Step 3: the claims jsonwebtoken does not require. */
  checkClaims(payload: unknown): VerifiedClaims {
    if (typeof payload !== 'object' || payload === null) throw new TokenRejected('no claims');
    const claims = payload as JWTPayload;
    if (typeof claims.exp !== 'number') throw new TokenRejected('no expiry');
    if (claims.type !== undefined && claims.type !== 'access')
      throw new TokenRejected('not an access token');
    const sub = claims.sub as unknown;
    if (typeof sub !== 'string' && typeof sub !== 'number') throw new TokenRejected('no subject');
    return { ...claims, sub: String(sub), exp: claims.exp };
  }

  /**
   * A token that verified once verifies again until it expires (same bytes,
   * same key): its claims, with expiry and not-before checked again now
   * (TokenRejected once past them); undefined for a token not seen. Saves
   * the parse and signature check of a token a board refresh repeats (the
   * guard path cost ~13 µs more without it; docs/adr/0009-passport-jwt-and-axios.md).
   */
  remembered(token: string): VerifiedClaims | undefined {
    const known = this.verified.get(token);
    if (!known) return undefined;
    const now = Math.floor(Date.now() / 1000);
    if (known.exp + CLOCK_TOLERANCE_S < now) throw new TokenRejected('expired');
    if (typeof known.nbf === 'number' && known.nbf - CLOCK_TOLERANCE_S > now)
      throw new TokenRejected('not yet valid');
    return known;
  }

  /** Called once a token passed all three steps; bounded, and never past its expiry. */
  remember(token: string, claims: VerifiedClaims): void {
    this.verified.set(token, claims, (claims.exp + CLOCK_TOLERANCE_S) * 1000);
  }

  /**
   * All three steps outside a request: through the same passport-jwt
   * pipeline when signatures are checked locally, else decode-only; a
   * remembered token is not verified again.
   */
  async verify(token: string): Promise<VerifiedClaims> {
    const known = this.remembered(token);
    if (known) return known;
    const claims = this.verifiesSignatures
      ? await this.verifyAfresh(token)
      : this.decodeChecked(token);
    this.remember(token, claims);
    return claims;
  }

  private verifyAfresh(token: string): Promise<VerifiedClaims> {
    return new Promise<VerifiedClaims>((resolve, reject) => {
      const run = Object.create(this.strategy) as Strategy;
      run.success = (claims: VerifiedClaims) => resolve(claims);
      run.fail = (info: unknown) =>
        reject(
          info instanceof TokenRejected ? info : new TokenRejected('signature or claims invalid'),
        );
      run.error = (err: unknown) =>
        reject(err instanceof TokenRejected ? err : new TokenRejected('invalid'));
      run.authenticate({ token } as never, {});
    });
  }

  /** No key configured: shape, algorithm, expiry, not-before and type, without a signature check. */
  decodeChecked(token: string): VerifiedClaims {
    this.checkedHeader(token);
    let payload: JWTPayload;
    try {
      payload = decodeJwt(token);
    } catch {
      throw new TokenRejected('malformed payload');
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp === 'number' && payload.exp + CLOCK_TOLERANCE_S < now)
      throw new TokenRejected('expired');
    if (typeof payload.nbf === 'number' && payload.nbf - CLOCK_TOLERANCE_S > now)
      throw new TokenRejected('not yet valid');
    return this.checkClaims(payload);
  }

  private checkedHeader(token: string): CompactJWSHeaderParameters {
    if (typeof token !== 'string' || token.length > 8192 || !JWT_SHAPE.test(token))
      throw new TokenRejected('malformed');
    let header: CompactJWSHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as CompactJWSHeaderParameters;
    } catch {
      throw new TokenRejected('malformed header');
    }
    const alg = header.alg as string | undefined;
    if (!alg || !this.algorithms.includes(alg as Algorithm))
      throw new TokenRejected(`algorithm ${alg} not allowed`);
    return header;
  }
}
