import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { Env } from '@lhcms/config';
import { MetricsService } from '../metrics';
import { RATE_LIMIT_OBSERVER, RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

@Module({ providers: [RedisThrottlerStorage], exports: [RedisThrottlerStorage] })
class RateLimitStorageModule {}

/**
 * Rate limiting. Imported after the ums-gateway module, so that its global
 * guard runs after authentication (the limit is per user).
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [Env, RedisThrottlerStorage],
      useFactory: (env: Env, redis: RedisThrottlerStorage) => ({
        throttlers: [
          {
            name: 'default',
            limit: env.RATE_LIMIT_PER_MINUTE,
            ttl: env.RATE_LIMIT_WINDOW_SECONDS * 1000,
          },
        ],
        skipIf: () => env.RATE_LIMIT_PER_MINUTE === 0,
        storage: env.REDIS_URL ? redis : undefined,
      }),
    }),
  ],
  providers: [
    // MetricsService (global metrics module) counts the 429s.
    { provide: RATE_LIMIT_OBSERVER, useExisting: MetricsService },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
})
export class SecurityModule {}
