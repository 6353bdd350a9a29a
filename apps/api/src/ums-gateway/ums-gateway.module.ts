import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { MetricsService } from '../metrics/metrics.service';
import { AccessPolicyCheck } from './access-policy.check';
import { AuthGuard } from './auth.guard';
import { PrincipalCache } from './principal-cache';
import { TokenVerifier } from './token-verifier';
import { UMS_CALL_OBSERVER, UmsClient } from './ums-client';
import { CACHE_OBSERVER, UmsGatewayService } from './ums-gateway.service';

@Module({
  imports: [DiscoveryModule],
  providers: [
    AccessPolicyCheck,
    TokenVerifier,
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
