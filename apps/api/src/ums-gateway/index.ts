export { UmsGatewayModule } from './ums-gateway.module';
export { UmsGatewayService } from './ums-gateway.service';
export { AuthError, AuthErrorCode } from './ums-gateway.errors';
export {
  COMPLIANCE_PERMISSIONS,
  labAllows,
  Permission,
  RequirePermission,
  roleAllows,
} from './permissions';
export {
  EMERGENCY_GRANT_HEADER,
  EMERGENCY_GRANT_RESOLVER,
  type EmergencyGrantResolver,
  withinCase,
} from './lab-access';
export { bearerToken } from './auth.guard';
export { UmsClient } from './ums-client';
