import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { createHash } from 'node:crypto';
import type { Principal } from '@lhcms/request-context';

type Entry = { principal: Principal } | { rejected: true };

/** A cache that does not answer within this is treated as a miss (Redis down must not hang requests). */
const CACHE_TIMEOUT_MS = 250;

function withTimeout<T>(p: Promise<T>): Promise<T | undefined> {
  return Promise.race([
    p,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), CACHE_TIMEOUT_MS).unref()),
  ]);
}

/**
 * Resolved principals in the shared cache (Redis, or memory), keyed by a hash
 * of the token — never the token itself — and kept at most until the token
 * expires. UMS rejections are cached briefly too.
 */
@Injectable()
export class PrincipalCache {
  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  static keyOf(token: string): string {
    return `principal:${createHash('sha256').update(token).digest('base64url')}`;
  }

  async get(token: string): Promise<Entry | undefined> {
    try {
      return (await withTimeout(this.cache.get<Entry>(PrincipalCache.keyOf(token)))) ?? undefined;
    } catch {
      return undefined; // a cache outage costs a UMS call, not the request
    }
  }

  async set(token: string, entry: Entry, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    try {
      await withTimeout(this.cache.set(PrincipalCache.keyOf(token), entry, ttlSeconds * 1000));
    } catch {
      /* see get() */
    }
  }
}
