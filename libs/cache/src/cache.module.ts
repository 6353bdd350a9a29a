import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { type DynamicModule, Module } from '@nestjs/common';
import { CacheStore } from './cache-store';
import { RedisLink } from './redis-link';

@Module({ providers: [RedisLink, CacheStore], exports: [RedisLink, CacheStore] })
class CacheStoreModule {}

/**
 * The shared cache (`CACHE_MANAGER`): Redis via Keyv + @keyv/redis when
 * REDIS_URL is set, falling back to process memory while Redis is down
 * (CacheStore), else memory. Exports RedisLink, the process's one Redis
 * connection (the rate limiter counts on it too). `cache-manager-ioredis-yet`
 * is not used: it only works with cache-manager 5 (NestJS ≤ 10) and with
 * cache-manager 7 silently caches in memory or fails at boot
 * (docs/architecture.md, "Dependency choices").
 */
@Module({})
export class CacheModule {
  static forRoot(): DynamicModule {
    return {
      module: CacheModule,
      global: true,
      imports: [
        CacheStoreModule,
        NestCacheModule.registerAsync({
          isGlobal: true,
          imports: [CacheStoreModule],
          inject: [CacheStore],
          // keyv ships separate CJS and ESM typings; the instance is the same class at runtime.
          useFactory: (store: CacheStore) => ({ stores: [store.keyv as never], ttl: 60_000 }),
        }),
      ],
      exports: [NestCacheModule, CacheStoreModule],
    };
  }
}
