import { Global, Module } from '@nestjs/common';
import { EncryptionModule } from '../encryption';
import { EMERGENCY_GRANT_RESOLVER, UmsGatewayModule } from '../ums-gateway';
import { Clock } from './clock';
import { EmergencyAccessController } from './emergency-access.controller';
import { EmergencyAccessRepository } from './emergency-access.repository';
import { EmergencyAccessService } from './emergency-access.service';

/**
 * Emergency access (break-glass, issue 19). Global so that the auth guard of
 * the ums-gateway finds the grant resolver it declares
 * (EMERGENCY_GRANT_RESOLVER) without importing this module.
 */
@Global()
@Module({
  imports: [EncryptionModule, UmsGatewayModule],
  controllers: [EmergencyAccessController],
  providers: [
    Clock,
    EmergencyAccessRepository,
    EmergencyAccessService,
    { provide: EMERGENCY_GRANT_RESOLVER, useExisting: EmergencyAccessService },
  ],
  exports: [EMERGENCY_GRANT_RESOLVER, EmergencyAccessService, Clock],
})
export class EmergencyAccessModule {}
