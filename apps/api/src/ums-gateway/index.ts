export { UmsGatewayModule } from './ums-gateway.module';
export { UmsGatewayService } from './ums-gateway.service';
export { AuthError, AuthErrorCode } from './ums-gateway.errors';
export { labAllows, Permission, RequirePermission, roleAllows } from './permissions';
export { UmsClient } from './ums-client';
