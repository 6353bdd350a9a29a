import KeyvRedis from '@keyv/redis';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { Keyv } from 'keyv';

/**
 * A Keyv whose `disconnect()` is deferred. @nestjs/cache-manager disconnects
 * its stores in `onModuleDestroy`, which Nest runs before the HTTP server
 * stops: requests still draining after SIGTERM would lose the shared cache.
 * The store is closed by CacheStore in `onApplicationShutdown` instead, after
 * the server has finished its in-flight requests.
 */
class DeferredDisconnectKeyv extends Keyv {
  override async disconnect(): Promise<void> {
    /* closed by CacheStore.onApplicationShutdown */
  }

  close(): Promise<void> {
    return super.disconnect();
  }
}

/**
 * The cache's backing store: Redis through Keyv + @keyv/redis when REDIS_URL
 * is set (all replicas share principals and rate-limit counters), else an
 * in-process memory store. Owns the Redis connection: pings it for readiness
 * and closes it last on shutdown.
 */
@Injectable()
export class CacheStore implements OnApplicationShutdown {
  private readonly logger = new Logger('Cache');
  private readonly redis?: KeyvRedis<unknown>;
  readonly keyv: DeferredDisconnectKeyv;

  constructor(env: Env) {
    if (env.REDIS_URL) {
      this.redis = new KeyvRedis(env.REDIS_URL, { throwOnConnectError: true });
      this.keyv = new DeferredDisconnectKeyv({
        store: this.redis,
        namespace: env.REDIS_KEY_PREFIX,
      });
    } else {
      this.keyv = new DeferredDisconnectKeyv({ namespace: env.REDIS_KEY_PREFIX });
    }
    // Keyv re-emits store errors; unhandled they would crash the process. The
    // message only: Redis errors can echo the URL.
    this.keyv.on('error', (err: unknown) =>
      this.logger.warn(`cache store error: ${err instanceof Error ? err.message : 'unknown'}`),
    );
  }

  get redisConfigured(): boolean {
    return this.redis !== undefined;
  }

  /** Whether the Redis connection is open (false without Redis). */
  get redisOpen(): boolean {
    return (this.redis?.client as { isOpen?: boolean } | undefined)?.isOpen === true;
  }

  /** PING Redis (connecting if needed); rejects on error. The caller bounds the time. */
  async pingRedis(): Promise<void> {
    if (!this.redis) throw new Error('Redis is not configured');
    const client = await this.redis.getClient();
    const reply = await (client as { ping(): Promise<string> }).ping();
    if (reply !== 'PONG') throw new Error(`unexpected PING reply`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.keyv.close().catch(() => undefined);
  }
}
