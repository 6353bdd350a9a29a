import type { CaseStatus, CaseType, DetailKind, Json, Priority } from './case.schemas';

type PhiColumnName =
  | 'patient_info'
  | 'case_name'
  | 'description'
  | 'special_instructions'
  | 'fixed_prosthetic_details'
  | 'denture_details'
  | 'night_guard_details'
  | 'implant_details';

/** A `cases` row as stored: PHI columns hold `enc:v1:…` text (or legacy plaintext). */
export type StoredCaseRow = Omit<CaseRow, PhiColumnName> & Record<PhiColumnName, string | null>;

/** A `cases` row in plaintext (decrypted); timestamps already ISO-8601 UTC text. */
export interface CaseRow {
  id: number;
  lab_id: string;
  doctor_id: string;
  product_id: string;
  status: CaseStatus;
  case_name: string | null;
  description: string | null;
  priority: Priority;
  assigned_to: string | null;
  case_type: CaseType;
  due_date: string | null;
  rush_order: boolean;
  special_instructions: string | null;
  patient_info: Json | null;
  fixed_prosthetic_details: Json | null;
  denture_details: Json | null;
  night_guard_details: Json | null;
  implant_details: Json | null;
  created_at: string;
  updated_at: string;
}

/** The v1 wire Case: the original's keys in its order, then the additive fields. */
export interface CaseResponse {
  id: number;
  doctor_id: string;
  product_id: string;
  lab_id: string;
  case_name: string | null;
  description: string | null;
  priority: Priority;
  status: CaseStatus;
  assigned_to: string | null;
  patient_info: Json | null;
  dental_details: Json | null;
  due_date: string | null;
  rush_order: boolean;
  special_instructions: string | null;
  case_type: CaseType;
  created_at: string;
  updated_at: string;
  fixed_prosthetic: Json | null;
  denture: Json | null;
  night_guard: Json | null;
  implant: Json | null;
}

export function detailsOf(row: CaseRow): Record<DetailKind, Json | null> {
  return {
    fixed_prosthetic: row.fixed_prosthetic_details,
    denture: row.denture_details,
    night_guard: row.night_guard_details,
    implant: row.implant_details,
  };
}

export function toCaseResponse(row: CaseRow): CaseResponse {
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
  };
}
