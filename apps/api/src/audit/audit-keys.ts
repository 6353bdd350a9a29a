import { createHmac } from 'node:crypto';
import type { Env } from '@lhcms/config';
import { deriveKey, patientRef } from '@lhcms/crypto';

export interface AuditKeys {
  /** HMAC key of the hash chain and the checkpoints (outside the database). */
  chain: Buffer;
  /** Key of patient references. */
  patientRef: Buffer;
}

/** AUDIT_HMAC_KEY, else derived from SECRET_KEY; the patient-ref key always from SECRET_KEY. */
export function auditKeys(env: Env): AuditKeys {
  if (!env.SECRET_KEY && !env.AUDIT_HMAC_KEY) {
    throw new Error('the audit trail needs SECRET_KEY (or AUDIT_HMAC_KEY and SECRET_KEY)');
  }
  if (!env.SECRET_KEY) throw new Error('the audit trail needs SECRET_KEY for patient references');
  return {
    chain: env.AUDIT_HMAC_KEY
      ? createHmac('sha256', 'lhcms:audit-chain:v1').update(env.AUDIT_HMAC_KEY, 'utf8').digest()
      : deriveKey(env.SECRET_KEY, 'audit-chain'),
    patientRef: deriveKey(env.SECRET_KEY, 'patient-ref'),
  };
}

/**
 * The keyed reference of the patient of a plaintext `patient_info` (its
 * `patient_id`), or null when there is none. Never the identifier itself.
 */
export function patientRefOf(key: Buffer, labId: string, patientInfo: unknown): string | null {
  if (!patientInfo || typeof patientInfo !== 'object') return null;
  const id = (patientInfo as { patient_id?: unknown }).patient_id;
  if (typeof id === 'number' && Number.isFinite(id)) return patientRef(key, labId, String(id));
  if (typeof id !== 'string' || id.trim() === '') return null;
  return patientRef(key, labId, id);
}
