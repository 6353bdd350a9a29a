import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Principal } from '@lhcms/request-context';
import { randomUUID } from 'node:crypto';
import passport, { Passport } from 'passport';
import { Strategy } from 'passport-jwt';
import {
  TokenRejected,
  type TokenRequest,
  TokenVerifier,
  type VerifiedClaims,
} from './token-verifier';
import { UmsGatewayService } from './ums-gateway.service';

/**
 * The passport-jwt strategy: TokenVerifier's key provider and options
 * (allowlist, secret or JWKS, expiry and not-before), then validate(): the
 * claims jsonwebtoken does not check, and only then the principal (caches,
 * UMS behind its circuit breaker). Without a local key (outside production)
 * there is nothing to verify a signature with: the token is decoded and
 * checked, and the UMS decides.
 */
@Injectable()
export class UmsJwtStrategy extends PassportStrategy(Strategy) implements OnModuleDestroy {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly gateway: UmsGatewayService,
  ) {
    super(verifier.strategyOptions());
    // Each application (tests start several in one process, with different keys) registers
    // its own strategy under its own name, which the guard uses; and removes it on shutdown.
    this.name = `jwt:${randomUUID()}`;
    passport.use(this.name, this);
  }

  /** The mixin's registration under the default name goes to a throwaway passport, not the process-wide one. */
  getPassportInstance(): InstanceType<typeof Passport> {
    return new Passport();
  }

  onModuleDestroy(): void {
    passport.unuse(this.name);
  }

  /** After passport-jwt verified the token (or it was remembered, or no key is configured). */
  async validate(req: TokenRequest, payload: unknown): Promise<Principal> {
    const claims = this.verifier.checkClaims(payload);
    this.verifier.remember(req.token, claims);
    return this.gateway.principalFor(req.token, claims);
  }

  /**
   * passport-jwt verifies every token it has not seen; a token that passed
   * before goes straight to validate() while it is unexpired (TokenVerifier
   * remembered()), and without a local key the token is decoded and checked.
   */
  override authenticate(req: Parameters<Strategy['authenticate']>[0], options?: unknown): void {
    const { token } = req as unknown as TokenRequest;
    let claims: VerifiedClaims | undefined;
    try {
      claims = this.verifier.remembered(token);
    } catch (err) {
      return this.fail(err, 401);
    }
    if (!claims && this.verifier.verifiesSignatures) return super.authenticate(req, options);
    Promise.resolve()
      .then(() => this.validate({ token }, claims ?? this.verifier.decodeChecked(token)))
      .then(
        (principal) => this.success(principal),
        (err: unknown) =>
          err instanceof TokenRejected ? this.fail(err, 401) : this.error(err as Error),
      );
  }
}
