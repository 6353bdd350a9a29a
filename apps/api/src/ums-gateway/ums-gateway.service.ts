import { Inject, Injectable } from '@nestjs/common';
import { TtlCache } from '@lhcms/cache';
import { LAB_ID_PATTERN } from '@lhcms/database';
import { Env } from '@lhcms/config';
import type { LabMembership, Principal } from '@lhcms/request-context';
import { PrincipalCache } from './principal-cache';
import {
  membershipsFromLabs,
  membershipsFromMe,
  mergeMemberships,
  principalFrom,
  userOf,
} from './principal-mapper';
import type { VerifiedClaims } from './token-verifier';
import { UmsClient } from './ums-client';
import { AuthError, AuthErrorCode, UmsUnauthorized, UmsUnavailable } from './ums-gateway.errors';

/** Observer of principal-cache lookups (metrics). */
export interface CacheObserver {
  cacheLookup(cache: string, hit: boolean): void;
}
export const CACHE_OBSERVER = Symbol('CACHE_OBSERVER');

/**
 * Turns a verified token into a Principal: the principal caches, then the
 * UMS (shape A, else shape B). Concurrent requests
 * with the same uncached token share one UMS round trip.
 */
@Injectable()
export class UmsGatewayService {
  private readonly inflight = new Map<string, Promise<Principal>>();
  private readonly local = new TtlCache<string, Principal>(10_000);

  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly cache: PrincipalCache,
    private readonly ums: UmsClient,
    @Inject(CACHE_OBSERVER) private readonly observer: CacheObserver,
  ) {}

  /**
   * The principal of a token whose signature and claims passed (UmsJwtStrategy
   * calls this from validate()): the per-replica cache, the shared cache,
   * then the UMS.
   */
  async principalFor(token: string, claims: VerifiedClaims): Promise<Principal> {
    const local = this.local.get(token);
    if (this.env.UMS_LOCAL_CACHE_TTL > 0)
      this.observer.cacheLookup('principal_local', local !== undefined);
    if (local) return local;
    const cached = this.env.UMS_CACHE_TTL > 0 ? await this.cache.get(token) : undefined;
    this.observer.cacheLookup('principal', cached !== undefined);
    if (cached && 'principal' in cached) {
      this.remember(token, claims, cached.principal);
      return cached.principal;
    }
    if (cached) throw AuthError.invalidToken();

    const pending = this.inflight.get(token);
    if (pending) return pending;
    const p = this.resolve(token, claims).finally(() => this.inflight.delete(token));
    this.inflight.set(token, p);
    return p;
  }

  /** The per-replica copy in front of the shared cache: a few seconds, never past the token's expiry. */
  private remember(token: string, claims: VerifiedClaims, principal: Principal): void {
    const ttl = this.ttlFor(claims, Math.min(this.env.UMS_LOCAL_CACHE_TTL, this.env.UMS_CACHE_TTL));
    if (ttl > 0) this.local.set(token, principal, Date.now() + ttl * 1000);
  }

  private ttlFor(claims: VerifiedClaims, max: number): number {
    const untilExpiry = claims.exp - Math.floor(Date.now() / 1000);
    return Math.min(max, untilExpiry);
  }

  private async resolve(token: string, claims: VerifiedClaims): Promise<Principal> {
    try {
      const me = await this.ums.me(token);
      if (!userOf(me)) throw new UmsUnauthorized('UMS /me body carries no user');
      const isAdmin = userOf(me)?.is_admin === true;
      let memberships = membershipsFromMe(me);
      if (memberships === undefined) {
        // Shape B (no labs in /me): /api/labs lists the memberships — except for a UMS system
        // admin, for whom it lists every active lab. Being a system admin grants no lab by itself
        // (issue 19, docs/hipaa.md#emergency-access): such a principal has no memberships here.
        memberships = isAdmin
          ? []
          : mergeMemberships([], membershipsFromLabs(await this.ums.labs(token)));
      }
      const principal = principalFrom(me, memberships, claims);
      await this.cache.set(token, { principal }, this.ttlFor(claims, this.env.UMS_CACHE_TTL));
      this.remember(token, claims, principal);
      return principal;
    } catch (err) {
      if (err instanceof UmsUnauthorized) {
        await this.cache.set(
          token,
          { rejected: true },
          this.ttlFor(claims, this.env.UMS_NEGATIVE_CACHE_TTL),
        );
        throw AuthError.invalidToken();
      }
      if (err instanceof UmsUnavailable) throw AuthError.unavailable();
      throw err;
    }
  }

  /**
   * The ids of the labs the UMS lists to this token's user (`GET /api/labs`;
   * for a UMS system admin, every active lab). Emergency access asks it
   * whether a lab exists. A UMS outage is a 503.
   */
  async listedLabIds(token: string): Promise<Set<string>> {
    try {
      return new Set(membershipsFromLabs(await this.ums.labs(token)).map((m) => m.labId));
    } catch (err) {
      if (err instanceof UmsUnauthorized) throw AuthError.invalidToken();
      if (err instanceof UmsUnavailable) throw AuthError.unavailable();
      throw err;
    }
  }

  /**
   * The lab a request acts in: the `X-Lab-Id` header, which must name an
   * active membership, or else the first active membership (the original's
   * rule). Inactive memberships never grant access (the original fell back
   * to an inactive first entry; we do not).
   */
  selectLab(principal: Principal, header: string | string[] | undefined): LabMembership {
    const active = principal.memberships.filter((m) => m.active);
    const requested = Array.isArray(header) ? header[0] : header;
    if (requested !== undefined && requested !== '') {
      const id = requested.trim();
      const m = LAB_ID_PATTERN.test(id) ? active.find((x) => x.labId === id) : undefined;
      if (!m) {
        throw new AuthError(
          AuthErrorCode.NotLabMember,
          'X-Lab-Id does not name a lab you are an active member of',
        );
      }
      return m;
    }
    if (active.length === 0)
      throw new AuthError(AuthErrorCode.NoLab, 'User lab information not available');
    return active[0];
  }
}
