import {
  CASE_STATUSES,
  CASE_TYPES,
  type CaseStatus,
  type CaseType,
  PRIORITIES,
  INT4_MAX,
  type Priority,
} from '../../case-model';
import { isIsoDateTime } from '../../common/validation/json-schema.validator';
import { isCivilDate } from '../../schedule';
import { queryReader } from '../../common/http/query-params';

export interface CaseFilters {
  status?: CaseStatus;
  doctor_id?: string;
  product_id?: string;
  case_type?: CaseType;
  priority?: Priority;
  rush_order?: boolean;
  /** Exact match on patient_info.patient_id (through the blind index; never stored in clear). */
  patient_id?: string;
  case_number?: string;
  stage?: string;
  assigned_to?: string;
  /** Work queues (the schedule): due date from/to (inclusive), ship-by up to, late or not. */
  due_from?: string;
  due_to?: string;
  ship_by_to?: string;
  late?: boolean;
  /** true: remakes only (remake_of set); false: cases that are not remakes. */
  remake?: boolean;
}

export type ListQuery =
  | { mode: 'page'; page: number; perPage: number; filters: CaseFilters }
  | { mode: 'cursor'; cursor?: Cursor; limit: number; filters: CaseFilters };

/** Position after the last row of a keyset page (exact timestamp text, id). */
export interface Cursor {
  createdAt: string;
  id: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt}|${c.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return undefined;
  const [createdAt, id] = Buffer.from(s, 'base64url').toString('utf8').split('|');
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdAt ?? '') ||
    !isIsoDateTime(createdAt) ||
    !/^\d{1,10}$/.test(id ?? '') ||
    Number(id) > INT4_MAX
  ) {
    return undefined;
  }
  return { createdAt, id: Number(id) };
}

/** `<lab code>-<YYMM>-<seq>`, e.g. TL-2611-0042. */
export const CASE_NUMBER = /^[A-Za-z0-9_]{1,20}-\d{4}-\d{4,9}$/;
export const STAGE = /^[a-z][a-z0-9_]{0,49}$/;

type Raw = Record<string, unknown>;

/**
 * Strict parsing of the list query (the original silently ignored bad values
 * and read `rush_order=false` as true): every bad value is a 400 naming the
 * parameter. `per_page`/`limit` above the maximum are capped, as the original did.
 */
export function parseListQuery(
  q: Raw,
  defaults: { perPage: number; maxPerPage: number },
): { ok: ListQuery } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const { one, positiveInt: int } = queryReader(q, errors);
  const oneOfValues = <T extends string>(name: string, values: readonly T[]): T | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      errors[name] = `is not one of ${values.join(', ')}`;
      return undefined;
    }
    return v as T;
  };
  const id = (name: string): string | undefined => {
    const v = one(name);
    if (v === undefined) return undefined;
    if (v.length === 0 || v.length > 50) errors[name] = 'must be 1 to 50 characters';
    return v;
  };

  const filters: CaseFilters = {
    status: oneOfValues('status', CASE_STATUSES),
    doctor_id: id('doctor_id'),
    product_id: id('product_id'),
    case_type: oneOfValues('case_type', CASE_TYPES),
    priority: oneOfValues('priority', PRIORITIES),
  };
  const caseNumber = one('case_number');
  if (caseNumber !== undefined) {
    if (!CASE_NUMBER.test(caseNumber)) errors.case_number = 'is not a case number';
    else filters.case_number = caseNumber;
  }
  const stage = one('stage');
  if (stage !== undefined) {
    if (!STAGE.test(stage)) errors.stage = 'is not a stage name';
    else filters.stage = stage;
  }
  const patient = one('patient_id');
  if (patient !== undefined) {
    if (patient.trim() === '' || patient.length > 100)
      errors.patient_id = 'must be 1 to 100 characters';
    else filters.patient_id = patient;
  }
  const rush = oneOfValues('rush_order', ['true', 'false'] as const);
  if (rush !== undefined) filters.rush_order = rush === 'true';
  filters.assigned_to = id('assigned_to');
  const date = (name: 'due_from' | 'due_to' | 'ship_by_to') => {
    const v = one(name);
    if (v === undefined) return;
    if (!isCivilDate(v)) errors[name] = 'is not a YYYY-MM-DD date';
    else filters[name] = v;
  };
  date('due_from');
  date('due_to');
  date('ship_by_to');
  if (filters.due_from && filters.due_to && filters.due_from > filters.due_to) {
    errors.due_to = 'is before due_from';
  }
  const late = oneOfValues('late', ['true', 'false'] as const);
  if (late !== undefined) filters.late = late === 'true';
  const remake = oneOfValues('remake', ['true', 'false'] as const);
  if (remake !== undefined) filters.remake = remake === 'true';

  const cursorMode = q.cursor !== undefined || q.limit !== undefined;
  if (cursorMode && (q.page !== undefined || q.per_page !== undefined)) {
    errors.cursor = 'cursor/limit cannot be combined with page/per_page';
  }
  let result: ListQuery;
  if (cursorMode) {
    const raw = one('cursor');
    const cursor = raw === undefined || raw === '' ? undefined : decodeCursor(raw);
    if (raw && !cursor) errors.cursor = 'is not a cursor this API issued';
    result = {
      mode: 'cursor',
      cursor,
      limit: int('limit', defaults.perPage, defaults.maxPerPage),
      filters,
    };
  } else {
    result = {
      mode: 'page',
      page: int('page', 1),
      perPage: int('per_page', defaults.perPage, defaults.maxPerPage),
      filters,
    };
  }
  for (const k of Object.keys(filters) as Array<keyof CaseFilters>)
    if (filters[k] === undefined) delete filters[k];
  return Object.keys(errors).length ? { errors } : { ok: result };
}
