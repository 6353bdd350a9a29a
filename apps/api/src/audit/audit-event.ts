/**
 * The vocabulary of the audit trail (docs/hipaa.md): one row per event,
 * FHIR AuditEvent / IHE BALP in spirit. Nothing here may carry a PHI value.
 */
import { storableText } from '../common/validation/storable-text';

export const AUDIT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_OUTCOMES = ['success', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export type ActorType = 'user' | 'service' | 'system' | 'anonymous';
/**
 * rest: a request; system: a job outside any request; security: an attempt on
 * this lab's data made from another lab (recorded for the owning lab).
 */
export const AUDIT_EVENT_TYPES = ['rest', 'system', 'security'] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];
export const SECURITY_EVENT: AuditEventType = 'security';
export type AuditInteraction =
  | 'read'
  | 'search'
  | 'create'
  | 'update'
  | 'status_change'
  | 'delete'
  | 'export'
  | 'verify'
  | 'purge'
  | 'key_rotation'
  /** An aggregate disclosure (a report of counts): no case, no patient; the query says which report and range. */
  | 'aggregate';

/** A changed field: old/new values only for non-PHI fields, the name alone otherwise. */
export interface ChangedField {
  field: string;
  old?: unknown;
  new?: unknown;
}

/** One audit row as the service builds it (the database adds seq, recorded_at, tx_id). */
export interface AuditRecord {
  occurred_at: Date;
  lab_id: string | null;
  actor_user_id: string | null;
  actor_type: ActorType;
  actor_role: string | null;
  source_ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  event_type: AuditEventType;
  action: AuditAction;
  interaction: AuditInteraction;
  resource_type: string | null;
  resource_id: string | null;
  patient_ref: string | null;
  subject_count: number | null;
  entity_ids: string[] | null;
  patient_refs: string[] | null;
  query: Record<string, unknown> | null;
  changed_fields: ChangedField[] | null;
  outcome: AuditOutcome;
  outcome_detail: string | null;
  http_status: number | null;
  http_method: string | null;
  route: string | null;
}

/** The action code of each interaction (FHIR R4 AuditEvent.action: a search is an Execute). */
export const ACTION_OF: Record<AuditInteraction, AuditAction> = {
  read: 'R',
  search: 'E',
  create: 'C',
  update: 'U',
  status_change: 'U',
  delete: 'D',
  export: 'R',
  verify: 'E',
  purge: 'D',
  key_rotation: 'U',
  aggregate: 'E',
};

/** Every interaction, for the review API's filter and schema (one list: ACTION_OF's keys). */
export const AUDIT_INTERACTIONS = Object.keys(ACTION_OF) as AuditInteraction[];

/** An administrative event done outside any request (CLI jobs): counts and names only, never PHI. */
export function systemRecord(
  fields: Pick<AuditRecord, 'interaction' | 'resource_type' | 'query'> & {
    tool: string;
    subjectCount: number;
  },
): AuditRecord {
  return {
    occurred_at: new Date(),
    lab_id: null,
    actor_user_id: null,
    actor_type: 'system',
    actor_role: null,
    source_ip: null,
    user_agent: fields.tool,
    request_id: null,
    event_type: 'system',
    action: ACTION_OF[fields.interaction],
    interaction: fields.interaction,
    resource_type: fields.resource_type,
    resource_id: null,
    patient_ref: null,
    subject_count: fields.subjectCount,
    entity_ids: null,
    patient_refs: null,
    query: fields.query,
    changed_fields: null,
    outcome: 'success',
    outcome_detail: null,
    http_status: null,
    http_method: null,
    route: null,
  };
}

/** success for 2xx/3xx, denied for 401/403, error for everything else. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  if (status === 401 || status === 403) return 'denied';
  return 'error';
}

export const AUDIT_COLUMNS = [
  'occurred_at',
  'lab_id',
  'actor_user_id',
  'actor_type',
  'actor_role',
  'source_ip',
  'user_agent',
  'request_id',
  'event_type',
  'action',
  'interaction',
  'resource_type',
  'resource_id',
  'patient_ref',
  'subject_count',
  'entity_ids',
  'patient_refs',
  'query',
  'changed_fields',
  'outcome',
  'outcome_detail',
  'http_status',
  'http_method',
  'route',
] as const satisfies ReadonlyArray<keyof AuditRecord>;

/**
 * The statement that inserts audit rows: the same text for any number of
 * rows (the batch travels as one JSON array parameter, turned into rows of
 * the table's own type by `json_populate_recordset`), so a connection parses
 * and plans it once as a named prepared statement instead of a fresh
 * multi-row VALUES list per group-commit batch (that parse and plan was a
 * quarter of what auditing added to PostgreSQL's work per read). One
 * JSON.stringify per batch is also the cheapest way for the API to send it:
 * an array per column (the lists as array literals, escaped again by the
 * driver) cost the API ~16 µs more per row for the same work in the
 * database.
 */
const INSERT_TEXT = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  SELECT ${AUDIT_COLUMNS.map((c) => `r.${c}`).join(', ')}
  FROM json_populate_recordset(NULL::audit_events, $1::json) AS r`;

const AUDIT_INSERT = {
  name: 'lhcms_audit_insert_v2',
  text: INSERT_TEXT,
  returningName: 'lhcms_audit_insert_returning_v2',
  returningText: `${INSERT_TEXT}\n  RETURNING seq::text AS seq`,
} as const;

/** JSON.stringify replacer: every string storable, at any depth (the lists and jsonb columns too). */
function storableJson(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? storableText(value) : value;
}

/**
 * The JSON of a batch. JSON.stringify escapes a NUL as \u0000 and an
 * unpaired surrogate as \udXXX (a pair stays as it is), neither of which
 * PostgreSQL stores: only then is the batch encoded again with every string
 * made storable (one odd value must not fail its batch).
 */
function batchJson(records: readonly AuditRecord[]): string {
  const json = JSON.stringify(records);
  return /\\u0000|\\ud[89a-f]/i.test(json) ? JSON.stringify(records, storableJson) : json;
}

/**
 * The INSERT of the given records: AUDIT_INSERT's text and the batch as its
 * one JSON parameter (keys that are not AUDIT_COLUMNS are not inserted).
 * `returning` asks for the seq: only inside a lab's transaction,
 * because RETURNING makes row-level security check the SELECT policy (the lab)
 * on every new row, which a group-commit batch of several labs cannot pass.
 */
export function insertStatement(
  records: readonly AuditRecord[],
  returning = false,
): {
  name: string;
  text: string;
  params: unknown[];
} {
  const params = [batchJson(records)];
  return returning
    ? { name: AUDIT_INSERT.returningName, text: AUDIT_INSERT.returningText, params }
    : { name: AUDIT_INSERT.name, text: AUDIT_INSERT.text, params };
}
