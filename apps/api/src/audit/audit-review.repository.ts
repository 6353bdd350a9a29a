import { Injectable } from '@nestjs/common';
import { rows, TenantDb } from '@lhcms/database';
import { SECURITY_EVENT } from './audit-event';

/**
 * An audit event as the review API returns it to a lab admin: nothing in it
 * counts other labs' events (no seq, no chain position; see AuditViewCodec).
 */
export interface AuditEventView {
  /** Opaque, stable id of the event (not ordered, not countable). */
  id: string;
  occurred_at: string;
  recorded_at: string;
  lab_id: string | null;
  actor_user_id: string | null;
  actor_type: string;
  actor_role: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  event_type: string;
  action: string;
  interaction: string;
  resource_type: string | null;
  resource_id: string | null;
  patient_ref: string | null;
  subject_count: number | null;
  entity_ids: string[] | null;
  patient_refs: string[] | null;
  query: Record<string, unknown> | null;
  changed_fields: unknown[] | null;
  outcome: string;
  outcome_detail: string | null;
  http_status: number | null;
  http_method: string | null;
  route: string | null;
  /** Cross-lab security events: the lab the actor acted from (null otherwise). */
  actor_lab_id: string | null;
  /** The emergency grant (break-glass) the access was made under; null for ordinary access. */
  emergency_grant_id: string | null;
  /** The event's hash-chain entry (operators find it by row_hash); null until the sealer has linked it. */
  chain: { row_hash: string } | null;
}

/** A row as the repository reads it: the view plus the global seq, which never leaves the server. */
export type AuditEventRow = Omit<AuditEventView, 'id'> & { seq: string };

export interface AuditFilters {
  from?: string;
  to?: string;
  actor?: string;
  caseId?: string;
  patientRef?: string;
  action?: string;
  outcome?: string;
  interaction?: string;
}

export interface AuditCursor {
  occurredAt: string;
  seq: string;
}

const ISO = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Review queries, always inside TenantDb.withLab (row-level security: the
 * lab's rows only) and filtered by lab explicitly as well. Newest first,
 * keyset pages on (occurred_at, seq).
 */
@Injectable()
export class AuditReviewRepository {
  constructor(private readonly db: TenantDb) {}

  async find(
    labId: string,
    f: AuditFilters,
    cursor: AuditCursor | undefined,
    limit: number,
  ): Promise<AuditEventRow[]> {
    const params: unknown[] = [labId];
    const where = ['e.lab_id = $1'];
    const add = (clause: (p: string) => string, v: unknown) => {
      params.push(v);
      where.push(clause(`$${params.length}`));
    };
    if (f.from) add((p) => `e.occurred_at >= ${p}::timestamptz`, f.from);
    if (f.to) add((p) => `e.occurred_at < ${p}::timestamptz`, f.to);
    if (f.actor) add((p) => `e.actor_user_id = ${p}`, f.actor);
    if (f.action) add((p) => `e.action = ${p}`, f.action);
    if (f.outcome) add((p) => `e.outcome = ${p}`, f.outcome);
    if (f.interaction) add((p) => `e.interaction = ${p}`, f.interaction);
    if (f.caseId) {
      add(
        (p) =>
          `e.resource_type = 'case' AND (e.resource_id = ${p} OR e.entity_ids @> ARRAY[${p}::text])`,
        f.caseId,
      );
    }
    if (f.patientRef) {
      add((p) => `(e.patient_ref = ${p} OR e.patient_refs @> ARRAY[${p}::text])`, f.patientRef);
    }
    if (cursor) {
      params.push(cursor.occurredAt, cursor.seq);
      where.push(
        `(e.occurred_at, e.seq) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`,
      );
    }
    params.push(limit);
    return this.db.withLab(labId, (em) =>
      rows<AuditEventRow>(
        em,
        `SELECT e.seq::text AS seq, ${ISO('e.occurred_at')} AS occurred_at, ${ISO('e.recorded_at')} AS recorded_at,
                e.lab_id, e.actor_user_id, e.actor_type, e.actor_role, host(e.source_ip) AS source_ip,
                e.user_agent, e.request_id, e.event_type, e.action, e.interaction, e.resource_type,
                e.resource_id, e.patient_ref, e.subject_count, e.entity_ids, e.patient_refs, e.query,
                e.changed_fields, e.outcome, e.outcome_detail, e.http_status, e.http_method, e.route,
                CASE WHEN e.event_type = '${SECURITY_EVENT}' THEN e.query->>'actor_lab_id' END AS actor_lab_id,
                e.query->>'emergency_grant_id' AS emergency_grant_id,
                CASE WHEN c.seq IS NULL THEN NULL ELSE json_build_object('row_hash', c.row_hash) END AS chain
         FROM audit_events e LEFT JOIN audit_chain c ON c.seq = e.seq
         WHERE ${where.join(' AND ')}
         ORDER BY e.occurred_at DESC, e.seq DESC
         LIMIT $${params.length}`,
        params,
      ),
    );
  }

  /**
   * The lab's events covered by a verified chain prefix (positions up to
   * `throughPosition`): the lab's own count, never the chain's.
   */
  async verifiedCount(labId: string, throughPosition: number | null): Promise<number> {
    if (throughPosition === null) return 0;
    const r = await this.db.withLab(labId, (em) =>
      rows<{ n: number }>(
        em,
        `SELECT count(*)::int AS n FROM audit_events e JOIN audit_chain c ON c.seq = e.seq
         WHERE e.lab_id = $1 AND c.position <= $2`,
        [labId, throughPosition],
      ),
    );
    return r[0]?.n ?? 0;
  }
}
