import { type CaseRow, type CaseWireFields, DETAIL_COLUMN } from '../../case-model';
import type { DetailKind, Json } from '../../case-model';
import type { CaseTiming } from '../../schedule';

/** Row types derive from the column catalogue (case.columns.ts). */
export type { CaseRow, StoredCaseRow } from '../../case-model';

/**
 * The v1 wire Case: every selected column under its wire name, and the
 * prescription of the case's own type as `dental_details`. toCaseResponse
 * sends them in the original's key order, then the additive fields.
 */
export type CaseResponse = CaseWireFields & {
  dental_details: Json | null;
  /** Derived on read: the ids of the live remakes of this case, oldest first. */
  remakes: number[];
} & CaseTiming;

/** The four prescription objects of a row, by detail kind. */
export function detailsOf(row: CaseRow): Record<DetailKind, Json | null> {
  return {
    fixed_prosthetic: row[DETAIL_COLUMN.fixed_prosthetic],
    denture: row[DETAIL_COLUMN.denture],
    night_guard: row[DETAIL_COLUMN.night_guard],
    implant: row[DETAIL_COLUMN.implant],
  };
}

/**
 * `timing`: the schedule's flags for this case now; `remakes`: the ids of its
 * live remakes (both derived on read, never stored).
 */
export function toCaseResponse(
  row: CaseRow,
  timing: CaseTiming,
  remakes: readonly number[] = [],
): CaseResponse {
  const details = detailsOf(row);
  const matching = row.case_type in details ? details[row.case_type as DetailKind] : null;
  return {
    id: row.id,
    doctor_id: row.doctor_id,
    product_id: row.product_id,
    lab_id: row.lab_id,
    case_name: row.case_name,
    description: row.description,
    priority: row.priority,
    status: row.status,
    assigned_to: row.assigned_to,
    patient_info: row.patient_info,
    dental_details: matching,
    due_date: row.due_date,
    rush_order: row.rush_order,
    special_instructions: row.special_instructions,
    case_type: row.case_type,
    created_at: row.created_at,
    updated_at: row.updated_at,
    fixed_prosthetic: details.fixed_prosthetic,
    denture: details.denture,
    night_guard: details.night_guard,
    implant: details.implant,
    case_number: row.case_number,
    stage: row.stage,
    held_from_status: row.held_from_status,
    version: row.version,
    ship_by: row.ship_by,
    due_date_feasible: row.due_date_feasible,
    late: timing.late,
    at_risk: timing.at_risk,
    days_late: timing.days_late,
    remake_of: row.remake_of,
    remake_reason: row.remake_reason,
    remake_responsibility: row.remake_responsibility,
    remake_chargeable: row.remake_chargeable,
    remakes: [...remakes],
  };
}

/** The ETag of a case version (strong; the version changes with every write). */
export function etagOf(version: number): string {
  return `"${version}"`;
}
