import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@lhcms/config';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { createClient } from '@redis/client';

function newClient(url: string | undefined) {
  return createClient({
    url,
    socket: { connectTimeout: 2000, reconnectStrategy: (n: number) => Math.min(n * 100, 2000) },
  });
}

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
 * call per request: atomic, one round trip.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private client?: ReturnType<typeof newClient>;
  private ready?: Promise<unknown>;
  private readonly prefix: string;

  constructor(@Inject(Env) private readonly env: Env) {
    this.prefix = env.REDIS_KEY_PREFIX;
  }

  /** Connects on first use, so an instance without REDIS_URL never opens a socket. */
  private connect(): Promise<unknown> {
    if (!this.ready) {
      const client = newClient(this.env.REDIS_URL);
      client.on('error', () => undefined); // reconnects by itself; a failed call surfaces per request
      this.client = client;
      this.ready = client.connect();
    }
    return this.ready;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    await this.connect();
    const [hits, pttl] = (await this.client!.eval(INCREMENT, {
      keys: [`${this.prefix}:rl:${key}`],
      arguments: [String(ttl)],
    })) as [number, number];
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

  /**
   * After the HTTP server has drained (not onModuleDestroy, which Nest runs
   * before it): requests still in flight after SIGTERM pass this guard too.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.ready) await this.client!.close().catch(() => undefined);
  }
}
