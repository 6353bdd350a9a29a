import { Module } from '@nestjs/common';
import { APP_GUARD, DiscoveryModule } from '@nestjs/core';
import { AccessPolicyCheck } from './access-policy.check';
import { AuthGuard } from './auth.guard';
import { PrincipalCache } from './principal-cache';
import { TokenVerifier } from './token-verifier';
import { UMS_CALL_OBSERVER, UmsClient } from './ums-client';
import { CACHE_OBSERVER, UmsGatewayService } from './ums-gateway.service';

/** Until the metrics module provides the observers. */
const noMetrics = {
  umsCall: () => undefined,
  setUmsCircuitOpen: () => undefined,
  cacheLookup: () => undefined,
};

@Module({
  imports: [DiscoveryModule],
  providers: [
    AccessPolicyCheck,
    TokenVerifier,
    UmsClient,
    PrincipalCache,
    UmsGatewayService,
    { provide: UMS_CALL_OBSERVER, useValue: noMetrics },
    { provide: CACHE_OBSERVER, useValue: noMetrics },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [UmsGatewayService, UmsClient],
})
export class UmsGatewayModule {}
