export { AuditModule } from './audit.module';
export { AuditService, type AuditedChange } from './audit.service';
export { Audited, type AuditSpec, type AuditSubjects } from './audited.decorator';
export { AuditError, AuditErrorCode } from './audit.errors';
export { AUDIT_OBSERVER, type AuditObserver, type AuditWriteMode } from './audit-observer';
export { insertStatement, systemRecord } from './audit-event';
export { auditPurge, auditSeal, auditVerify, describeReport } from './audit-cli';
