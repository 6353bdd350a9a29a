export type AuditWriteMode = 'transactional' | 'batch';

/**
 * Observer of audit writes and sealing: the metrics module's MetricsService
 * (bound in audit.module.ts).
 */
export interface AuditObserver {
  auditWrite(mode: AuditWriteMode, seconds: number): void;
  auditFailure(mode: AuditWriteMode): void;
  setAuditSealing(lagSeconds: number, unsealed: number): void;
}

export const AUDIT_OBSERVER = Symbol('AUDIT_OBSERVER');
