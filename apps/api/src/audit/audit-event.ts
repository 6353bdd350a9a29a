/**
 * The vocabulary of the audit trail (design/hipaa.md): one row per event,
 * FHIR AuditEvent / IHE BALP in spirit. Nothing here may carry a PHI value.
 */
import { storableText } from '../common/validation/storable-text';

export const AUDIT_ACTIONS = ['C', 'R', 'U', 'D', 'E'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_OUTCOMES = ['success', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export type ActorType = 'user' | 'service' | 'system' | 'anonymous';
export type AuditEventType = 'rest' | 'system';
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
  | 'key_rotation';

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
 * The array type each column travels as (one array per column, one element
 * per row), where it is not text[]. The lists (`entity_ids`, `patient_refs`)
 * travel as text[] too, each row's list as its array literal cast back per
 * row: arrays of arrays may be ragged, which PostgreSQL arrays cannot.
 */
const ARRAY_OF: Partial<Record<(typeof AUDIT_COLUMNS)[number], string>> = {
  occurred_at: 'timestamptz[]',
  source_ip: 'inet[]',
  subject_count: 'int[]',
  query: 'jsonb[]',
  changed_fields: 'jsonb[]',
  http_status: 'smallint[]',
};
const LIST_COLUMNS = new Set<string>(['entity_ids', 'patient_refs']);
const JSON_COLUMNS = new Set<string>(['query', 'changed_fields']);

const INSERT_TEXT = `INSERT INTO audit_events (${AUDIT_COLUMNS.join(', ')})
  SELECT ${AUDIT_COLUMNS.map((c) => (LIST_COLUMNS.has(c) ? `u.${c}::text[]` : `u.${c}`)).join(', ')}
  FROM unnest(${AUDIT_COLUMNS.map((c, i) => `$${i + 1}::${ARRAY_OF[c] ?? 'text[]'}`).join(', ')})
    AS u(${AUDIT_COLUMNS.join(', ')})`;

/**
 * The statement that inserts audit rows: the same text for any number of
 * rows (one array parameter per column), so a connection parses and plans it
 * once as a named prepared statement instead of a fresh multi-row VALUES list
 * per group-commit batch (that parse and plan was a quarter of what auditing
 * added to PostgreSQL's work per read).
 */
const AUDIT_INSERT = {
  name: 'lhcms_audit_insert_v1',
  text: INSERT_TEXT,
  returningName: 'lhcms_audit_insert_returning_v1',
  returningText: `${INSERT_TEXT}\n  RETURNING seq::text AS seq`,
} as const;

/** JSON.stringify replacer: storable string values (keys are the service's own). */
function storableJson(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? storableText(value) : value;
}

/** A PostgreSQL array literal of text elements, every element quoted. */
function textArrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, '\\$&')}"`).join(',')}}`;
}

/**
 * The INSERT of the given records: AUDIT_INSERT's text and one array per
 * column. `returning` asks for the seq: only inside a lab's transaction,
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
  // Every string storable (no NUL, no unpaired surrogate): one odd value must not fail its batch.
  const params = AUDIT_COLUMNS.map((c) =>
    records.map((r) => {
      const v = r[c];
      if (v === null || v === undefined) return null;
      if (LIST_COLUMNS.has(c)) return textArrayLiteral((v as string[]).map(storableText));
      if (JSON_COLUMNS.has(c)) return JSON.stringify(v, storableJson);
      if (typeof v === 'string') return storableText(v);
      return v instanceof Date ? v.toISOString() : v;
    }),
  );
  return returning
    ? { name: AUDIT_INSERT.returningName, text: AUDIT_INSERT.returningText, params }
    : { name: AUDIT_INSERT.name, text: AUDIT_INSERT.text, params };
}
