/** What other modules may use of the emergency-access module (docs/architecture.md, "Dependency rules"). */
export { EmergencyAccessModule } from './emergency-access.module';
export { EmergencyAccessService } from './emergency-access.service';
export { EmergencyAccessError, EmergencyAccessErrorCode } from './emergency-access.errors';
export { Clock } from './clock';
