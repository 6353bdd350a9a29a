import { createHmac, hkdfSync } from 'node:crypto';
import { keyObject } from './key-object';

/**
 * Purposes of keys derived from SECRET_KEY (HKDF-SHA256). A purpose never
 * changes meaning; a new use gets a new purpose.
 */
export type KeyPurpose =
  'patient-ref' | 'audit-chain' | 'blind-index' | 'local-kek' | 'idempotency' | 'audit-view';

/** A 32-byte key for one purpose, derived from the deployment's root secret. */
export function deriveKey(rootSecret: string, purpose: KeyPurpose): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(rootSecret, 'utf8'), Buffer.alloc(0), `lhcms:${purpose}:v1`, 32),
  );
}

/**
 * The keyed reference of a patient, stored where the patient must be
 * findable without the patient identifier itself (audit rows: "who accessed
 * this patient"). Scoped by lab, so the same identifier in two labs does not
 * correlate. Not reversible without the key, which lives outside the database.
 */
export function patientRef(key: Buffer, labId: string, patientId: string): string {
  return createHmac('sha256', keyObject(key))
    .update(`${labId}\u0000${patientId.trim()}`)
    .digest('base64url');
}
