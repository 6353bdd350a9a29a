import { TRAIL_OMITTED_COLUMNS, TRAIL_VALUE_COLUMNS, wireName } from '../case-model';
import type { ChangedField } from './audit-event';

/**
 * The changed fields of a case write, sorted by name, as the column catalogue
 * (case-model/case.columns.ts) allows: values (old and new) only for the
 * `trail: 'value'` columns, which are never PHI (docs/hipaa.md);
 * nothing for `trail: 'omit'` (the actor, timestamps and lab are on the audit
 * row already; the blind index derives from patient_info); the name only for
 * every other column — default deny, also for a column the catalogue does not
 * know. For a create, `before` is undefined and unset (null) fields are left out.
 */
export function caseChangedFields(
  changes: Readonly<Record<string, unknown>>,
  before?: Readonly<Record<string, unknown>>,
): ChangedField[] {
  const out: ChangedField[] = [];
  for (const col of Object.keys(changes).sort()) {
    if (TRAIL_OMITTED_COLUMNS.has(col)) continue;
    const next = changes[col];
    if (!before && (next === null || next === undefined)) continue;
    const field = wireName(col);
    if (!TRAIL_VALUE_COLUMNS.has(col)) {
      out.push({ field });
      continue;
    }
    out.push(
      before ? { field, old: before[col] ?? null, new: next ?? null } : { field, new: next },
    );
  }
  return out;
}
