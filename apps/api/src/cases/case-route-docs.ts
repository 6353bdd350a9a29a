/**
 * What the case routes declare beyond their behaviour: what a response
 * discloses to the audit trail, and how OpenAPI describes each route.
 */
import { ApiParam, ApiQuery } from '@nestjs/swagger';
import type { AuditSubjects } from '../audit';
import type { CaseRouteDocs } from './case-route.decorator';
import { CASE_STATUSES, CASE_TYPES, PRIORITIES } from '../case-model';
import { SORT_FIELDS } from './dto/list-query';

type AuditedCase = { id: number; patient_info: unknown; version?: number };

/** What a case response discloses: its id and its patient (keyed by the audit trail, never stored as such). */
export function oneCase(result: unknown): AuditSubjects {
  const c = result as AuditedCase;
  return { ids: [c.id], patients: [c.patient_info], versions: [c.version] };
}

/** What a page of cases discloses. */
export function caseList(result: unknown): AuditSubjects {
  const cases = (result as { cases: AuditedCase[] }).cases;
  return {
    ids: cases.map((c) => c.id),
    patients: cases.map((c) => c.patient_info),
    versions: cases.map((c) => c.version),
  };
}

/** Whether a bulk change wrote anything (no item succeeded: no transactional audit row). */
export function anySucceeded(result: unknown): boolean {
  return (result as { succeeded: number }).succeeded > 0;
}

/** List parameters recorded with their values (paging and non-PHI filters; never patient_id). */
export const LIST_AUDITED_QUERY = [
  'page',
  'per_page',
  'cursor',
  'limit',
  'status',
  'doctor_id',
  'product_id',
  'case_type',
  'priority',
  'rush_order',
  'case_number',
  'stage',
  'remake',
  'assigned_to',
  'due_from',
  'due_to',
  'ship_by_to',
  'late',
  'at_risk',
  'sort',
] as const;

/** The list's query parameters, as OpenAPI documents them. */
const LIST_QUERY_DOCS: MethodDecorator[] = [
  ApiQuery({ name: 'page', required: false, schema: { type: 'integer', minimum: 1, default: 1 } }),
  ApiQuery({
    name: 'per_page',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  }),
  ApiQuery({
    name: 'cursor',
    required: false,
    schema: { type: 'string' },
    description: 'Keyset mode: `next_cursor` of the previous page (empty for the first).',
  }),
  ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100 },
  }),
  ApiQuery({
    name: 'status',
    required: false,
    schema: { type: 'string', enum: [...CASE_STATUSES] },
  }),
  ApiQuery({ name: 'doctor_id', required: false, schema: { type: 'string' } }),
  ApiQuery({ name: 'product_id', required: false, schema: { type: 'string' } }),
  ApiQuery({
    name: 'case_type',
    required: false,
    schema: { type: 'string', enum: [...CASE_TYPES] },
  }),
  ApiQuery({
    name: 'priority',
    required: false,
    schema: { type: 'string', enum: [...PRIORITIES] },
  }),
  ApiQuery({
    name: 'rush_order',
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
  }),
  ApiQuery({ name: 'case_number', required: false, schema: { type: 'string' } }),
  ApiQuery({ name: 'stage', required: false, schema: { type: 'string' } }),
  ApiQuery({ name: 'assigned_to', required: false, schema: { type: 'string' } }),
  ApiQuery({
    name: 'due_from',
    required: false,
    schema: { type: 'string', format: 'date' },
    description: 'Work queue: due on or after (inclusive).',
  }),
  ApiQuery({
    name: 'due_to',
    required: false,
    schema: { type: 'string', format: 'date' },
    description: 'Work queue: due on or before (inclusive).',
  }),
  ApiQuery({
    name: 'ship_by_to',
    required: false,
    schema: { type: 'string', format: 'date' },
    description: 'Work queue: ship-by on or before.',
  }),
  ApiQuery({
    name: 'late',
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
    description: "The `late` flag, against today in the lab's time zone.",
  }),
  ApiQuery({
    name: 'at_risk',
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
    description: "The `at_risk` flag, against today in the lab's time zone.",
  }),
  ApiQuery({
    name: 'sort',
    required: false,
    schema: { type: 'string', enum: [...SORT_FIELDS.flatMap((f) => [f, `-${f}`])] },
    description:
      'Order: `due_date`, `ship_by` or `created_at`, ascending; `-` before it for descending (default `-created_at`, newest first). The id breaks ties; cases without the date come last in both directions. A cursor is bound to its sort and filters.',
  }),
  ApiQuery({
    name: 'remake',
    required: false,
    schema: { type: 'string', enum: ['true', 'false'] },
    description: 'true: remakes only (`remake_of` set); false: cases that are not remakes.',
  }),
  ApiQuery({
    name: 'patient_id',
    required: false,
    schema: { type: 'string' },
    description: 'Exact patient_info.patient_id (matched through a keyed blind index).',
  }),
];

/** How OpenAPI describes each route of CasesController (by handler). */
export const CASE_ROUTE_DOCS = {
  list: {
    summary: "List the lab's cases, newest first",
    description:
      'Offset pages (`page`, `per_page`; the original envelope) or keyset pages (`cursor`, `limit` → `next_cursor`; stable under inserts, use these for deep lists), in the `sort` order (default newest first). Filters are ANDed; a bad value is 400. Also served without the trailing slash.',
    params: LIST_QUERY_DOCS,
    ok: { schema: 'CaseListResponse', description: 'Offset page (or a CursorPage in keyset mode)' },
    errors: [400, 401, 403, 429, 503],
  },
  create: {
    summary: 'Create a case in your lab',
    description:
      'Status starts as `pending`, with a new per-lab case number. When LINKSHUB_CORE_URL is configured the doctor, its link to the lab and the product are checked first (400 / 503).',
    headers: [
      {
        name: 'Idempotency-Key',
        required: false,
        description:
          'A client-chosen key (≤ 255 of [A-Za-z0-9._:-]): a retried POST with the same key and body returns the first case instead of creating another (24 h).',
      },
    ],
    ok: {
      schema: 'Case',
      description: 'Created (or the earlier case, for a repeated Idempotency-Key)',
    },
    errors: [400, 401, 403, 409, 413, 415, 429, 503],
  },
  bulkStatus: {
    summary: 'Change the status of many cases',
    description:
      'Each case follows the lifecycle rules on its own (its own transaction and timeline event); the answer reports every case. Up to 100 ids.',
    ok: { schema: 'BulkStatusResult' },
    errors: [400, 401, 403, 415, 429, 503],
  },
  doctorInfo: {
    summary: 'A doctor from the doctor directory (LinksHub Core)',
    description:
      '501 when LINKSHUB_CORE_URL is not configured (not counted against the error SLO); 503 when the directory is unreachable.',
    params: [ApiParam({ name: 'doctor_id', schema: { type: 'string' } })],
    ok: { schema: 'DoctorAccount' },
    errors: [401, 404, 429, 501, 503],
  },
  byNumber: {
    summary: 'One case of your lab by its case number',
    params: [
      ApiParam({ name: 'case_number', schema: { type: 'string', example: 'TL-2611-0042' } }),
    ],
    ok: { schema: 'Case' },
    errors: [401, 403, 404, 429, 503],
  },
  get: {
    summary: 'One case of your lab (with its ETag)',
    ok: { schema: 'Case' },
    errors: [401, 403, 404, 429, 503],
  },
  events: {
    summary: 'The timeline of a case: every change, who, when, from → to, reason',
    description:
      'Oldest first. Values of fields that can carry PHI are not in the timeline, only their names.',
    ok: { schema: 'CaseEventList' },
    errors: [401, 403, 404, 429, 503],
  },
  update: {
    summary: 'Update a case (partial, as in the original)',
    description:
      'Only the fields sent change; objects are replaced wholesale; `null` clears a nullable field. A `status` follows the lifecycle rules; changing `due_date` needs a `reason`.',
    ok: { schema: 'Case' },
    errors: [400, 401, 403, 404, 409, 412, 413, 415, 429, 503],
  },
  changeStatus: {
    summary: 'Change the status of a case',
    description:
      'pending → in_progress | on_hold | cancelled; in_progress → on_hold | completed | cancelled; on_hold → the status it was held from | cancelled; completed and cancelled are final, but a lab admin may reopen a completed case. on_hold, cancelled and a reopen need a `reason`. An illegal move is 409 with `allowed_transitions`.',
    ok: { schema: 'Case' },
    errors: [400, 401, 403, 404, 409, 412, 415, 429, 503],
  },
  changeStage: {
    summary: 'Move an in-progress case to another production stage',
    description:
      "Stages are the lab's ordered list (lab settings). Forward freely; backward only with a `reason`.",
    ok: { schema: 'Case' },
    errors: [400, 401, 403, 404, 412, 415, 429, 503],
  },
  remove: {
    summary: 'Delete a case (soft: it disappears from the API and stays for retention and audit)',
    ok: { description: 'Deleted (no body)' },
    errors: [401, 403, 404, 412, 429, 503],
  },
} satisfies Record<string, CaseRouteDocs>;
