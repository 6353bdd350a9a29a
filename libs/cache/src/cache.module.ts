import KeyvRedis from '@keyv/redis';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { type DynamicModule, Module } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { Keyv } from 'keyv';

/**
 * The shared cache: Redis through Keyv + @keyv/redis when REDIS_URL is set
 * (all replicas share principals and rate-limit counters), else an in-process
 * memory store. `cache-manager-ioredis-yet` is not used: it only works with
 * cache-manager 5 (NestJS ≤ 10) and with cache-manager 7 silently caches in
 * memory or fails at boot (README, dependency notes).
 */
@Module({})
export class CacheModule {
  static forRoot(): DynamicModule {
    return {
      module: CacheModule,
      global: true,
      imports: [
        NestCacheModule.registerAsync({
          isGlobal: true,
          inject: [Env],
          useFactory: (env: Env) => ({
            // keyv ships separate CJS and ESM typings; the instance is the same class at runtime.
            stores: [
              (env.REDIS_URL
                ? new Keyv({ store: new KeyvRedis(env.REDIS_URL), namespace: env.REDIS_KEY_PREFIX })
                : new Keyv({ namespace: env.REDIS_KEY_PREFIX })) as never,
            ],
            ttl: 60_000,
          }),
        }),
      ],
      exports: [NestCacheModule],
    };
  }
}
