import {
  type CaseStatus,
  type CaseType,
  DETAIL_KINDS,
  type DetailKind,
  type Json,
  type Priority,
  type RemakeResponsibility,
} from './case.schemas';

/**
 * The one catalogue of the `cases` table: every column, in table order, with
 * what the rest of the code needs to know about it. The SELECT list, the
 * row, stored-row, values and response types, the writable set, the
 * encryption list, the audit and timeline value sets and the bench seed's
 * columns all derive from it (docs/case-columns.md: how to add a column).
 * The migrations create the table; test/database/case-columns.int-spec.ts
 * fails when the migrated table and this catalogue disagree.
 *
 * Per column:
 * - `sql`: the type as the migrations declare it (`varchar(n)`, `text`, …);
 * - `nullable`: whether the column admits NULL;
 * - `write`: who sets the value —
 *   `client` (a request body, through the service), `service` (computed by
 *   the service: never taken from a body), `fixed` (never in a write's
 *   values: the identity, the tenant key the repository binds from the
 *   actor, timestamps, and what the lifecycle trigger maintains);
 * - `phi`: `encrypted` (PhiCipher stores `enc:v1:…` ciphertext; `json`: the
 *   plaintext is an object), `blind-index` (a keyed HMAC of a PHI value for
 *   exact-match search; never shown), or `plain`;
 * - `trail`: what the audit trail's `changed_fields` and the case timeline's
 *   changed fields may hold — `value` (old → new), `name` (the field name
 *   only), `omit` (nothing: not a fact about the case, or derived from
 *   another column). The type admits `value` for plain columns only;
 * - `wire`: the name in the v1 Case response (null: never selected or sent);
 * - `value`: the TypeScript type of the plaintext value (a phantom: no
 *   runtime meaning), without the `| null` that `nullable` adds.
 *
 * PHI classification (45 CFR 164.514 identifiers and anything a person may
 * type about a patient): the patient object, every free-text field
 * (case_name, description, special_instructions — a dentist writes patient
 * names and conditions there) and the four prescription objects (clinical
 * detail with free-text notes) are encrypted at rest and appear in the audit
 * trail and the timeline by name only. The patient id is searchable only
 * through its blind index, which is omitted from both (it is derived from
 * patient_info, recorded by name). Ids of dentists, products, technicians
 * and users, the lab-generated case number, the workflow fields and the due
 * date of the lab's work are not PHI: their values are recorded, so a
 * reviewer sees what changed. Logs carry no case rows or bodies; the log
 * redaction list (libs/logging/src/phi-fields.ts) is a second line of defence
 * keyed by field name, kept apart because libs cannot import the app.
 */
// prettier-ignore
export const CASE_TABLE = {
  id: { sql: 'integer', nullable: false, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'id', value: t<number>() },
  lab_id: { sql: 'varchar(50)', nullable: false, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'lab_id', value: t<string>() },
  doctor_id: { sql: 'varchar(50)', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'doctor_id', value: t<string>() },
  product_id: { sql: 'varchar(50)', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'product_id', value: t<string>() },
  status: { sql: 'varchar(20)', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'status', value: t<CaseStatus>() },
  case_name: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: false, trail: 'name', wire: 'case_name', value: t<string>() },
  description: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: false, trail: 'name', wire: 'description', value: t<string>() },
  priority: { sql: 'varchar(20)', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'priority', value: t<Priority>() },
  created_by: { sql: 'varchar(50)', nullable: true, write: 'service', phi: 'plain', trail: 'omit', wire: null, value: t<string>() },
  assigned_to: { sql: 'varchar(50)', nullable: true, write: 'client', phi: 'plain', trail: 'value', wire: 'assigned_to', value: t<string>() },
  case_type: { sql: 'varchar(50)', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'case_type', value: t<CaseType>() },
  /** `YYYY-MM-DD` (selected as text: no time zone games). */
  due_date: { sql: 'date', nullable: true, write: 'client', phi: 'plain', trail: 'value', wire: 'due_date', value: t<string>() },
  rush_order: { sql: 'boolean', nullable: false, write: 'client', phi: 'plain', trail: 'value', wire: 'rush_order', value: t<boolean>() },
  special_instructions: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: false, trail: 'name', wire: 'special_instructions', value: t<string>() },
  patient_info: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: true, trail: 'name', wire: 'patient_info', value: t<Json>() },
  fixed_prosthetic_details: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: true, trail: 'name', wire: 'fixed_prosthetic', value: t<Json>() },
  denture_details: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: true, trail: 'name', wire: 'denture', value: t<Json>() },
  night_guard_details: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: true, trail: 'name', wire: 'night_guard', value: t<Json>() },
  implant_details: { sql: 'text', nullable: true, write: 'client', phi: 'encrypted', json: true, trail: 'name', wire: 'implant', value: t<Json>() },
  /** Timestamps are selected as ISO-8601 UTC text with microseconds. */
  created_at: { sql: 'timestamptz', nullable: false, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'created_at', value: t<string>() },
  updated_at: { sql: 'timestamptz', nullable: false, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'updated_at', value: t<string>() },
  /** Soft delete; only live rows (`deleted_at IS NULL`) are ever read. */
  deleted_at: { sql: 'timestamptz', nullable: true, write: 'fixed', phi: 'plain', trail: 'omit', wire: null, value: t<string>() },
  patient_id_bidx: { sql: 'varchar(64)', nullable: true, write: 'service', phi: 'blind-index', trail: 'omit', wire: null, value: t<string>() },
  /** `<lab code>-<YYMM>-<seq>`, numbered by the service; NULL only on rows older than numbering. */
  case_number: { sql: 'varchar(40)', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'case_number', value: t<string>() },
  stage: { sql: 'varchar(50)', nullable: true, write: 'client', phi: 'plain', trail: 'value', wire: 'stage', value: t<string>() },
  /** Maintained by the lifecycle trigger (the status an on_hold case returns to). */
  held_from_status: { sql: 'varchar(20)', nullable: true, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'held_from_status', value: t<'pending' | 'in_progress'>() },
  /** Optimistic concurrency (ETag); the trigger increments it on every write. */
  version: { sql: 'integer', nullable: false, write: 'fixed', phi: 'plain', trail: 'omit', wire: 'version', value: t<number>() },
  /** The date the work must leave the lab: due date − transit, in the lab's working days (schedule/). */
  ship_by: { sql: 'date', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'ship_by', value: t<string>() },
  /** False when a client-sent due date is earlier than the rush turnaround allows (kept, flagged). */
  due_date_feasible: { sql: 'boolean', nullable: true, write: 'service', phi: 'plain', trail: 'omit', wire: 'due_date_feasible', value: t<boolean>() },
  /** The case this one remakes (same lab: the foreign key is on (lab_id, remake_of)); set by the remake use case only. */
  remake_of: { sql: 'integer', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'remake_of', value: t<number>() },
  /** A code of the lab's remake reason catalogue (schedule/remake-reasons.ts); a code, never free text. */
  remake_reason: { sql: 'varchar(50)', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'remake_reason', value: t<string>() },
  remake_responsibility: { sql: 'varchar(10)', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'remake_responsibility', value: t<RemakeResponsibility>() },
  remake_chargeable: { sql: 'boolean', nullable: true, write: 'service', phi: 'plain', trail: 'value', wire: 'remake_chargeable', value: t<boolean>() },
} as const satisfies Record<string, ColumnSpec>;

// ---- the shape of an entry ------------------------------------------------------

/** A phantom: carries a TypeScript type in the catalogue (the runtime value is undefined). */
function t<T>(): T {
  return undefined as T;
}

export type SqlType =
  'integer' | 'text' | 'date' | 'boolean' | 'timestamptz' | `varchar(${number})`;

interface ColumnCommon {
  readonly sql: SqlType;
  readonly nullable: boolean;
  readonly write: 'client' | 'service' | 'fixed';
  readonly wire: string | null;
  readonly value: unknown;
}

/** PHI can never be recorded by value: the type refuses `trail: 'value'` on it. */
export type ColumnSpec = ColumnCommon &
  (
    | { readonly phi: 'plain'; readonly trail: 'value' | 'name' | 'omit' }
    | { readonly phi: 'encrypted'; readonly json: boolean; readonly trail: 'name' | 'omit' }
    | { readonly phi: 'blind-index'; readonly trail: 'omit' }
  );

// ---- derived types ---------------------------------------------------------------

type Table = typeof CASE_TABLE;
export type CaseColumn = keyof Table;
type ColumnsWhere<P> = { [K in CaseColumn]: Table[K] extends P ? K : never }[CaseColumn];

/** Columns the repository selects and the API sends (those with a wire name). */
export type SelectedColumn = Exclude<CaseColumn, ColumnsWhere<{ wire: null }>>;
export type EncryptedColumn = ColumnsWhere<{ phi: 'encrypted' }>;
/** Columns a write's values may set (client or service): the repository refuses the others. */
export type WritableColumn = ColumnsWhere<{ write: 'client' | 'service' }>;

/** The plaintext TypeScript type of a column's value, with null when it is nullable. */
type Plain<K extends CaseColumn> = Table[K]['nullable'] extends true
  ? Table[K]['value'] | null
  : Table[K]['value'];

/** Every column of a row in plaintext (the bench seed writes rows of this shape). */
export type CaseRecord = { [K in CaseColumn]: Plain<K> };

/** A selected `cases` row in plaintext (decrypted); timestamps already ISO-8601 UTC text. */
export type CaseRow = { [K in SelectedColumn]: Plain<K> };

/** A selected `cases` row as stored: encrypted columns hold `enc:v1:…` text (or legacy plaintext). */
export type StoredCaseRow = {
  [K in SelectedColumn]: K extends EncryptedColumn ? string | null : Plain<K>;
};

/** The values of a write: plaintext, or with encrypted columns already ciphertext (PhiCipher.encrypt). */
export type CaseValues = {
  [K in WritableColumn]: K extends EncryptedColumn ? Plain<K> | string : Plain<K>;
};

/** The selected columns under their wire names (the v1 Case adds `dental_details`). */
export type CaseWireFields = { [K in SelectedColumn as Table[K]['wire'] & string]: Plain<K> };

// ---- derived lists -----------------------------------------------------------------

const ENTRIES = Object.entries(CASE_TABLE) as Array<[CaseColumn, ColumnSpec]>;
const names = (keep: (c: ColumnSpec) => boolean) =>
  ENTRIES.filter(([, c]) => keep(c)).map(([n]) => n);

/** Every column, in table order. */
export const CASE_COLUMN_NAMES: readonly CaseColumn[] = ENTRIES.map(([n]) => n);

/** The selected columns, in table order. */
export const SELECTED_COLUMNS = names((c) => c.wire !== null) as readonly SelectedColumn[];

/** What a write's values may set (anything else is dropped by the repository). */
export const WRITABLE_COLUMNS: ReadonlySet<string> = new Set(
  names((c) => c.write === 'client' || c.write === 'service'),
);

/** The encrypted columns and whether each holds JSON (PhiCipher, key rotation, bench seed). */
export const ENCRYPTED_COLUMNS: ReadonlyArray<{ column: EncryptedColumn; json: boolean }> =
  ENTRIES.flatMap(([column, c]) =>
    c.phi === 'encrypted' ? [{ column: column as EncryptedColumn, json: c.json }] : [],
  );

/** Columns whose values (old → new) the audit trail and the timeline may hold. */
export const TRAIL_VALUE_COLUMNS: ReadonlySet<string> = new Set(names((c) => c.trail === 'value'));

/** Columns the audit trail and the timeline leave out of a write's changed fields. */
export const TRAIL_OMITTED_COLUMNS: ReadonlySet<string> = new Set(names((c) => c.trail === 'omit'));

const WIRE: ReadonlyMap<string, string> = new Map(
  ENTRIES.flatMap(([n, c]) => (c.wire === null ? [] : [[n, c.wire] as const])),
);

/** The wire name of a column (a column that is never sent keeps its own name). */
export function wireName(column: string): string {
  return WIRE.get(column) ?? column;
}

/** The prescription column of each detail kind: the column whose wire name is the kind. */
export type DetailColumn = { [K in CaseColumn as Table[K]['wire'] & DetailKind]: K };
export const DETAIL_COLUMN: Readonly<DetailColumn> = Object.fromEntries(
  DETAIL_KINDS.map((kind) => {
    const found = ENTRIES.find(([, c]) => c.wire === kind);
    if (!found) throw new Error(`case.columns: no column is sent as ${kind}`);
    return [kind, found[0]];
  }),
) as unknown as DetailColumn;
