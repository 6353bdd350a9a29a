import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Principal } from '@lhcms/request-context';
import { randomUUID } from 'node:crypto';
import passport, { Passport } from 'passport';
import { Strategy } from 'passport-jwt';
import { TokenRejected, type TokenRequest, TokenVerifier } from './token-verifier';
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
   * A token that passed before, while it is unexpired (TokenVerifier
   * remembered()): its principal through validate(), without passport's
   * per-request machinery (the guard's fast path; docs/adr/0009-passport-jwt-and-axios.md).
   * Undefined for a token not seen: passport-jwt verifies it.
   */
  async rememberedPrincipal(token: string): Promise<Principal | undefined> {
    const claims = this.verifier.remembered(token);
    return claims && this.validate({ token }, claims);
  }

  /** Without a local key, passport-jwt has nothing to verify with: decode and check, and the UMS decides. */
  override authenticate(req: Parameters<Strategy['authenticate']>[0], options?: unknown): void {
    if (this.verifier.verifiesSignatures) return super.authenticate(req, options);
    const { token } = req as unknown as TokenRequest;
    Promise.resolve()
      .then(() => this.validate({ token }, this.verifier.decodeChecked(token)))
      .then(
        (principal) => this.success(principal),
        (err: unknown) =>
          err instanceof TokenRejected ? this.fail(err, 401) : this.error(err as Error),
      );
  }
}
