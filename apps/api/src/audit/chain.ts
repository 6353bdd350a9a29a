import { createHash, createHmac } from 'node:crypto';
import { keyObject } from '@lhcms/crypto';

/**
 * The hash chain of the audit trail, version 1.
 *
 * Each sealed event gets a chain entry at a gap-free position:
 *   row_hash = HMAC-SHA256(key, prev_hash | position | seq | digest)
 * where digest = SHA-256 of the event's canonical row (below) and prev_hash
 * the row_hash of the previous position (GENESIS before position 1). The key
 * lives outside the database (AUDIT_HMAC_KEY or derived from SECRET_KEY), so a
 * database writer cannot recompute a valid chain after changing a row.
 */
export const GENESIS = '0'.repeat(64);

/**
 * The canonical row: every column of `audit_events` as text, in this order.
 * Fixed for good (every existing chain depends on it): a different row needs
 * a new version. The SQL function `audit_event_digest` is built from this
 * list (migration FasterAuditSealing; CreateAuditTrail spells the same
 * expressions); a test checks that both give the same digest.
 */
export const CANONICAL_COLUMNS: readonly string[] = [
  'e.seq::text',
  `to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  `to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
  'e.tx_id::text',
  'e.lab_id::text',
  'e.actor_user_id::text',
  'e.actor_type::text',
  'e.actor_role::text',
  'e.source_ip::text',
  'e.user_agent::text',
  'e.request_id::text',
  'e.event_type::text',
  'e.action::text',
  'e.interaction::text',
  'e.resource_type::text',
  'e.resource_id::text',
  'e.patient_ref::text',
  'e.subject_count::text',
  'e.entity_ids::text',
  'e.patient_refs::text',
  'e.query::text',
  'e.changed_fields::text',
  'e.outcome::text',
  'e.outcome_detail::text',
  'e.http_status::text',
  'e.http_method::text',
  'e.route::text',
];

/**
 * SHA-256 (hex) of a canonical row: 'lhcms-audit-v1' then, per column, `N`
 * for NULL or `S<utf-8 byte length>:<text>` (length-prefixed, so no two rows
 * encode alike).
 */
export function canonicalDigest(fields: ReadonlyArray<string | null>): string {
  let s = 'lhcms-audit-v1';
  for (const v of fields) s += v === null ? 'N' : `S${Buffer.byteLength(v, 'utf8')}:${v}`;
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The row_hash of a chain entry. */
export function rowHash(
  key: Buffer,
  prevHash: string,
  position: number,
  seq: string,
  digest: string,
): string {
  return createHmac('sha256', keyObject(key))
    .update(`${prevHash}|${position}|${seq}|${digest}`, 'utf8')
    .digest('hex');
}
