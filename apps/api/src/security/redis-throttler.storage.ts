import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { RedisLink } from '@lhcms/cache';
import { Env } from '@lhcms/config';
import { type ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { MetricsService } from '../metrics';

/** Fixed window per key: INCR, set the expiry on the first hit, report hits and time left (ms). */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

/**
 * Rate-limit counters in Redis, so every replica counts against the same
 * limit (the in-memory default would give each replica its own). One Lua
 * call per request: atomic, one round trip, on the process's RedisLink.
 *
 * While Redis is down or slower than REDIS_TIMEOUT_MS, each replica counts
 * in its own memory instead (the same limit per replica), so a Redis outage
 * neither fails requests nor lifts the limit altogether; each such request
 * counts in `lhcms_rate_limiter_fail_open_total`. RedisLink logs the outage
 * once and notices the recovery; counting goes back to Redis by itself.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly prefix: string;
  private readonly local = new ThrottlerStorageService();

  constructor(
    env: Env,
    private readonly link: RedisLink,
    private readonly metrics: MetricsService,
  ) {
    this.prefix = env.REDIS_KEY_PREFIX;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    let reply: [number, number];
    try {
      reply = await this.link.run(
        (client) =>
          client.eval(INCREMENT, {
            keys: [`${this.prefix}:rl:${key}`],
            arguments: [String(ttl)],
          }) as Promise<[number, number]>,
      );
    } catch {
      this.metrics.rateLimiterFailOpen();
      return this.local.increment(key, ttl, limit, blockDuration, throttlerName);
    }
    const [hits, pttl] = reply;
    const seconds = Math.max(1, Math.ceil(pttl / 1000));
    const blocked = hits > limit;
    return {
      totalHits: hits,
      timeToExpire: seconds,
      isBlocked: blocked,
      timeToBlockExpire: blocked
        ? Math.max(seconds, Math.ceil(blockDuration / 1000) || seconds)
        : 0,
    };
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }
}
