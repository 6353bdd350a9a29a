export type AuditWriteMode = 'transactional' | 'batch';

/**
 * Observer of audit writes and sealing (metrics). The metrics module's
 * MetricsService has exactly these methods; until it is bound, a no-op.
 */
export interface AuditObserver {
  auditWrite(mode: AuditWriteMode, seconds: number): void;
  auditFailure(mode: AuditWriteMode): void;
  setAuditSealing(lagSeconds: number, unsealed: number): void;
}

export const AUDIT_OBSERVER = Symbol('AUDIT_OBSERVER');

export const NO_AUDIT_METRICS: AuditObserver = {
  auditWrite: () => undefined,
  auditFailure: () => undefined,
  setAuditSealing: () => undefined,
};
