import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { RequestContext } from '@lhcms/request-context';
import { RateLimitedError } from './security.errors';

/** Observer of rejections (metrics). */
export interface RateLimitObserver {
  rateLimited(): void;
}
export const RATE_LIMIT_OBSERVER = Symbol('RATE_LIMIT_OBSERVER');

/**
 * Per-user rate limit (RATE_LIMIT_PER_MINUTE per RATE_LIMIT_WINDOW_SECONDS),
 * one bucket per user across every route and replica. Runs after the auth
 * guard; unauthenticated (public) routes are not limited here — probes and
 * reference data are static and cheap, and bad tokens are refused locally
 * before any work. Sets X-RateLimit-Limit/Remaining/Reset on every answer, a 429
 * included (with Retry-After).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly context: RequestContext,
    @Inject(RATE_LIMIT_OBSERVER) private readonly observer: RateLimitObserver,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(): Promise<boolean> {
    return this.context.principalOrUndefined === undefined;
  }

  protected override async getTracker(): Promise<string> {
    return `user:${this.context.principal.userId}`;
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    name: string,
  ): string {
    return `${name}:${tracker}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.observer.rateLimited();
    // The same X-RateLimit-* headers as every other answer (the base class sets only Retry-After
    // on a rejection); the exception filter keeps the headers already on the reply.
    const { res } = this.getRequestResponse(context);
    this.setResponseHeader(res, `${this.headerPrefix}-Limit`, detail.limit);
    this.setResponseHeader(res, `${this.headerPrefix}-Remaining`, 0);
    this.setResponseHeader(res, `${this.headerPrefix}-Reset`, detail.timeToExpire);
    throw new RateLimitedError(detail.timeToBlockExpire);
  }
}
