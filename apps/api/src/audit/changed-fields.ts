import type { ChangedField } from './audit-event';

/**
 * Case fields whose values are not PHI and may be recorded old → new
 * (docs/hipaa.md). Default deny: every other field (patient_info,
 * case_name, description, special_instructions, the prescription objects,
 * whatever is added later) is recorded by name only.
 */
export const CASE_VALUE_FIELDS: ReadonlySet<string> = new Set([
  'status',
  'priority',
  'due_date',
  'rush_order',
  'assigned_to',
  'case_type',
  'doctor_id',
  'product_id',
  'case_number',
  'stage',
]);

/** Storage column → wire name. */
const WIRE_NAME: Record<string, string> = {
  fixed_prosthetic_details: 'fixed_prosthetic',
  denture_details: 'denture',
  night_guard_details: 'night_guard',
  implant_details: 'implant',
};

/** Columns that describe the write itself, not the case (the actor is on the row already). */
const NOT_RECORDED = new Set([
  'created_by',
  'updated_at',
  'created_at',
  'deleted_at',
  'lab_id',
  // Derived from patient_info (recorded by name): the keyed blind index says nothing new.
  'patient_id_bidx',
]);

/**
 * The changed fields of a case write, sorted by name: values (old and new)
 * only for non-PHI fields, names only otherwise. For a create, `before` is
 * undefined and unset (null) fields are left out.
 */
export function caseChangedFields(
  changes: Readonly<Record<string, unknown>>,
  before?: Readonly<Record<string, unknown>>,
): ChangedField[] {
  const out: ChangedField[] = [];
  for (const col of Object.keys(changes).sort()) {
    if (NOT_RECORDED.has(col)) continue;
    const next = changes[col];
    if (!before && (next === null || next === undefined)) continue;
    const field = WIRE_NAME[col] ?? col;
    if (!CASE_VALUE_FIELDS.has(col)) {
      out.push({ field });
      continue;
    }
    out.push(
      before ? { field, old: before[col] ?? null, new: next ?? null } : { field, new: next },
    );
  }
  return out;
}
