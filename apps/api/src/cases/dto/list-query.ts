import { createHash } from 'node:crypto';
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
  /** The schedule's at-risk flag (derived on read; see ListCases). */
  at_risk?: boolean;
}

/** The list orders: a column and a direction; the id breaks ties in the same direction. */
export const SORT_FIELDS = ['created_at', 'due_date', 'ship_by'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export interface Sort {
  field: SortField;
  desc: boolean;
}
/** The original's order, and still the default: newest first. */
export const DEFAULT_SORT: Sort = { field: 'created_at', desc: true };
/** `due_date` ascending, `-due_date` descending (the `sort` parameter's spelling). */
export const sortName = (s: Sort): string => `${s.desc ? '-' : ''}${s.field}`;
const SORT_NAMES: readonly string[] = SORT_FIELDS.flatMap((f) => [f, `-${f}`]);

/** `sort` absent means DEFAULT_SORT. */
export type ListQuery =
  | { mode: 'page'; page: number; perPage: number; filters: CaseFilters; sort?: Sort }
  | { mode: 'cursor'; cursor?: QueueCursor; limit: number; filters: CaseFilters; sort?: Sort };

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

/**
 * Position after the last row of a case-list keyset page, bound to the list
 * it came from: the sort, a fingerprint of the filters (`ListCases` checks
 * it: a cursor replayed with other filters is a 400, not wrong pages), the
 * row's sort key (a timestamp for created_at, a date for due_date/ship_by,
 * '' for a row without one — those come last in both directions) and its id.
 */
export interface QueueCursor {
  sort: Sort;
  /** undefined for a cursor of the earlier format (newest first, not bound to filters). */
  filters?: string;
  key: string;
  id: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const QUEUE_CURSOR = /^q1\|(-?[a-z_]{1,20})\|([A-Za-z0-9_-]{16})\|([0-9TZ:.-]{0,27})\|(\d{1,10})$/;

/**
 * What a cursor is bound to, as 16 characters: a hash of the list's filters
 * (as the database sees them — a patient id only as its blind index, so a
 * cursor carries no PHI, not even hashed — and the late/at_risk flags asked
 * for, not their resolution of the day).
 */
export function cursorFingerprint(filters: Record<string, unknown>): string {
  const canonical = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 16);
}

export function encodeQueueCursor(c: Required<QueueCursor>): string {
  return Buffer.from(`q1|${sortName(c.sort)}|${c.filters}|${c.key}|${c.id}`, 'utf8').toString(
    'base64url',
  );
}

/**
 * A cursor this API issued, or undefined. Cursors of the earlier format
 * (`encodeCursor`: created_at|id) stay valid for the default order, so a
 * client paging through a deploy does not break.
 */
export function decodeQueueCursor(s: string): QueueCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s)) return undefined;
  const m = QUEUE_CURSOR.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) {
    const legacy = decodeCursor(s);
    return legacy && { sort: DEFAULT_SORT, key: legacy.createdAt, id: legacy.id };
  }
  const [, name, filters, key, id] = m;
  if (!SORT_NAMES.includes(name) || Number(id) > INT4_MAX) return undefined;
  const sort: Sort = { field: name.replace('-', '') as SortField, desc: name.startsWith('-') };
  const keyOk =
    sort.field === 'created_at'
      ? TIMESTAMP.test(key) && isIsoDateTime(key)
      : key === '' || isCivilDate(key);
  return keyOk ? { sort, filters, key, id: Number(id) } : undefined;
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
  const atRisk = oneOfValues('at_risk', ['true', 'false'] as const);
  if (atRisk !== undefined) filters.at_risk = atRisk === 'true';

  let sort = DEFAULT_SORT;
  const sortParam = one('sort');
  if (sortParam !== undefined) {
    if (!SORT_NAMES.includes(sortParam)) {
      errors.sort = `is not one of ${SORT_NAMES.join(', ')}`;
    } else {
      sort = { field: sortParam.replace('-', '') as SortField, desc: sortParam.startsWith('-') };
    }
  }
  // The direction is the sort's sign; a separate `order` would be silently
  // ignored otherwise (and the client would read pages in the wrong order).
  if (q.order !== undefined) errors.order = 'is not a parameter: use sort=-<field> for descending';

  const cursorMode = q.cursor !== undefined || q.limit !== undefined;
  if (cursorMode && (q.page !== undefined || q.per_page !== undefined)) {
    errors.cursor = 'cursor/limit cannot be combined with page/per_page';
  }
  let result: ListQuery;
  if (cursorMode) {
    const raw = one('cursor');
    const cursor = raw === undefined || raw === '' ? undefined : decodeQueueCursor(raw);
    if (raw && !cursor) errors.cursor = 'is not a cursor this API issued';
    else if (cursor && sortName(cursor.sort) !== sortName(sort) && !errors.sort)
      errors.cursor = 'was issued for another sort';
    result = {
      mode: 'cursor',
      cursor,
      limit: int('limit', defaults.perPage, defaults.maxPerPage),
      filters,
      sort,
    };
  } else {
    result = {
      mode: 'page',
      page: int('page', 1),
      perPage: int('per_page', defaults.perPage, defaults.maxPerPage),
      filters,
      sort,
    };
  }
  for (const k of Object.keys(filters) as Array<keyof CaseFilters>)
    if (filters[k] === undefined) delete filters[k];
  return Object.keys(errors).length ? { errors } : { ok: result };
}
