import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { outboundHttpConfig } from '../common/http/outbound';
import { MetricsService } from '../metrics';
import { AccessPolicyCheck } from './access-policy.check';
import { AuthGuard } from './auth.guard';
import { UmsJwtStrategy } from './jwt.strategy';
import { PrincipalCache } from './principal-cache';
import { TokenVerifier } from './token-verifier';
import { UMS_CALL_OBSERVER, UmsClient } from './ums-client';
import { CACHE_OBSERVER, UmsGatewayService } from './ums-gateway.service';

@Module({
  imports: [
    DiscoveryModule,
    HttpModule.registerAsync({
      inject: [Env],
      useFactory: (env: Env) => outboundHttpConfig(env.UMS_TIMEOUT_MS),
    }),
  ],
  providers: [
    AccessPolicyCheck,
    TokenVerifier,
    UmsJwtStrategy,
    UmsClient,
    PrincipalCache,
    UmsGatewayService,
    // MetricsService (global metrics module) observes UMS calls, the breaker and the principal cache.
    { provide: UMS_CALL_OBSERVER, useExisting: MetricsService },
    { provide: CACHE_OBSERVER, useExisting: MetricsService },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [UmsGatewayService, UmsClient],
})
export class UmsGatewayModule {}
