import KeyvRedis from '@keyv/redis';
import { Injectable, Logger } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { Keyv } from 'keyv';
import { FallbackStore } from './fallback-store';
import { RedisLink } from './redis-link';

/**
 * A Keyv whose `disconnect()` does nothing. @nestjs/cache-manager disconnects
 * its stores in `onModuleDestroy`, which Nest runs before the HTTP server
 * stops: requests still draining after SIGTERM would lose the shared cache.
 * The Redis connection belongs to RedisLink, which closes it in
 * `onApplicationShutdown`, after the server has finished its in-flight requests.
 */
class LinkOwnedKeyv extends Keyv {
  override async disconnect(): Promise<void> {
    /* the connection is RedisLink's */
  }
}

/**
 * The cache's backing store: Redis through Keyv + @keyv/redis on the
 * process's RedisLink when REDIS_URL is set (all replicas share principals),
 * with a bounded in-process copy that serves while Redis is down or slow
 * (FallbackStore); a memory store alone without REDIS_URL.
 */
@Injectable()
export class CacheStore {
  private readonly logger = new Logger('Cache');
  readonly keyv: Keyv;

  constructor(
    env: Env,
    private readonly link: RedisLink,
  ) {
    const client = link.connection;
    const redis = client
      ? new KeyvRedis(client, { throwOnConnectError: true, throwOnErrors: true })
      : undefined;
    this.keyv = new LinkOwnedKeyv({
      store: new FallbackStore(client ? link : undefined, redis),
      namespace: env.REDIS_KEY_PREFIX,
    });
    // Keyv re-emits store errors; unhandled they would crash the process. The
    // store itself never fails (Redis errors fall back to memory): this is a backstop.
    this.keyv.on('error', (err: unknown) =>
      this.logger.debug(`cache store error: ${err instanceof Error ? err.name : 'unknown'}`),
    );
  }

  get redisConfigured(): boolean {
    return this.link.configured;
  }

  /** Whether the Redis connection is open (false without Redis). */
  get redisOpen(): boolean {
    return this.link.connection?.isOpen === true;
  }
}
