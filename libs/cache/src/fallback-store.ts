import { EventEmitter } from 'node:events';
import type KeyvRedis from '@keyv/redis';
import { type RedisClient, RedisLink } from './redis-link';
import { TtlCache } from './ttl-cache';

/** Entries kept in process memory at most (the oldest go first). */
export const MEMORY_CACHE_ENTRIES = 10_000;
/** Expiry of an entry stored without a TTL (cache-manager always passes one). */
const DEFAULT_TTL_MS = 60_000;

/**
 * The Keyv store under the shared cache: Redis (through @keyv/redis and the
 * process's RedisLink) while Redis answers, and a bounded in-process copy of
 * everything written, read while Redis is down. A Redis outage thus costs a
 * cache miss at worst (the UMS is asked again), never an error or a wait:
 * the link bounds each call by REDIS_TIMEOUT_MS and skips Redis while it is
 * known to be down. Without Redis it is a plain bounded memory store.
 *
 * Redis is authoritative while it is up (reads go there first); the memory
 * copy keeps the same expiry, so it never outlives what Redis would hold.
 */
export class FallbackStore extends EventEmitter {
  /** Read by Keyv (an adapter without an iterator). */
  readonly opts = { dialect: 'lhcms-fallback', url: '' };
  private readonly memory = new TtlCache<string, string>(MEMORY_CACHE_ENTRIES);
  private ns?: string;

  constructor(
    private readonly link?: RedisLink,
    private readonly redis?: KeyvRedis<string>,
  ) {
    super();
    // @keyv/redis re-emits client errors; the link logs the outage once.
    redis?.on('error', () => undefined);
  }

  /** Keyv sets its namespace here; @keyv/redis prefixes its keys with it as before. */
  get namespace(): string | undefined {
    return this.ns;
  }

  set namespace(value: string | undefined) {
    this.ns = value;
    if (this.redis) this.redis.namespace = value;
  }

  async get(key: string): Promise<string | undefined> {
    const viaRedis = await this.onRedis((r) => r.get(key));
    return viaRedis.ok ? viaRedis.value : this.memory.get(key);
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    this.memory.set(key, value, Date.now() + (ttl && ttl > 0 ? ttl : DEFAULT_TTL_MS));
    await this.onRedis((r) => r.set(key, value, ttl));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const had = this.memory.get(key) !== undefined;
    this.memory.delete(key);
    const viaRedis = await this.onRedis((r) => r.delete(key));
    return (viaRedis.ok && viaRedis.value === true) || had;
  }

  async clear(): Promise<void> {
    this.memory.clear();
    await this.onRedis((r) => r.clear());
  }

  /** Runs `fn` on Redis when it is usable; `ok: false` means "use memory" (down, slow, or an error). */
  private async onRedis<T>(
    fn: (redis: KeyvRedis<string>) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false }> {
    const { link, redis } = this;
    if (!link || !redis || !link.available) return { ok: false };
    try {
      const value = await link.run((client: RedisClient) => {
        // The link replaces a silent connection; @keyv/redis must use the current one.
        if (redis.client !== client) redis.client = client;
        return fn(redis);
      });
      return { ok: true, value };
    } catch {
      return { ok: false };
    }
  }
}
