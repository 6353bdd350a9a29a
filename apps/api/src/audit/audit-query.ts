import { isIsoDateTime } from '../common/validation/json-schema.validator';
import { AUDIT_ACTIONS, AUDIT_INTERACTIONS, AUDIT_OUTCOMES } from './audit-event';
import type { AuditCursor, AuditFilters } from './audit-review.repository';

const ID = /^[A-Za-z0-9._:-]{1,100}$/;
const REF = /^[A-Za-z0-9_-]{20,64}$/;

/** Turns a client's cursor back into its boundary (AuditViewCodec.decodeCursor, bound to the lab). */
export type CursorDecoder = (cursor: string) => AuditCursor | undefined;

export interface ParsedAuditQuery {
  filters: AuditFilters;
  cursor?: AuditCursor;
  limit: number;
}

/**
 * Strict parsing of review filters: every bad value is a 400 naming it.
 * `patient_ref` is the keyed reference (never a patient identifier: those go
 * in the body of the patient access report, never in a URL). Cursors are
 * opaque: only `decodeCursor` can read them.
 */
export function parseAuditQuery(
  q: Record<string, unknown>,
  maxLimit: number,
  decodeCursor: CursorDecoder,
  defaultLimit = 100,
): { ok: ParsedAuditQuery } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const one = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      errors[name] = 'must be given once';
      return undefined;
    }
    return v;
  };
  const match = (name: string, re: RegExp, what: string) => {
    const v = one(name);
    if (v !== undefined && !re.test(v)) errors[name] = `must be ${what}`;
    return v;
  };
  const oneOf = (name: string, values: readonly string[]) => {
    const v = one(name);
    if (v !== undefined && !values.includes(v))
      errors[name] = `must be one of ${values.join(', ')}`;
    return v;
  };
  const time = (name: string) => {
    const v = one(name);
    if (v !== undefined && !isIsoDateTime(v))
      errors[name] = 'must be a real ISO-8601 date or date-time with a zone';
    return v;
  };
  const filters: AuditFilters = {
    from: time('from'),
    to: time('to'),
    actor: match('actor', ID, 'a user id'),
    caseId: match('case_id', /^[1-9]\d{0,9}$/, 'a case id'),
    patientRef: match('patient_ref', REF, 'a patient_ref'),
    action: oneOf('action', AUDIT_ACTIONS),
    outcome: oneOf('outcome', AUDIT_OUTCOMES),
    interaction: oneOf('interaction', AUDIT_INTERACTIONS),
  };
  const rawCursor = one('cursor');
  const cursor = rawCursor ? decodeCursor(rawCursor) : undefined;
  if (rawCursor && !cursor) errors.cursor = 'is not a cursor this API issued';
  let limit = defaultLimit;
  const rawLimit = one('limit');
  if (rawLimit !== undefined) {
    if (!/^[1-9]\d{0,5}$/.test(rawLimit)) errors.limit = 'must be a positive integer';
    else limit = Math.min(Number(rawLimit), maxLimit);
  }
  for (const k of Object.keys(filters) as Array<keyof AuditFilters>)
    if (filters[k] === undefined) delete filters[k];
  return Object.keys(errors).length ? { errors } : { ok: { filters, cursor, limit } };
}

/** Query parameters of the review routes recorded with their values (none is PHI). */
export const AUDIT_QUERY_PARAMS = [
  'from',
  'to',
  'actor',
  'case_id',
  'patient_ref',
  'action',
  'outcome',
  'interaction',
  'limit',
  'cursor',
] as const;
