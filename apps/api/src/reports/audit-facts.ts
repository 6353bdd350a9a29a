import type { AuditSubjects } from '../audit';

const FACTS = Symbol('report audit facts');

/**
 * What a report call disclosed, for its audit row: the report, its range and
 * the format — an aggregate, so no case ids and no patients. Carried by the
 * handler's result (not enumerable: never serialised) to the audit spec's
 * `subjects`.
 */
export function withReportFacts<T extends object>(result: T, facts: AuditSubjects['detail']): T {
  Object.defineProperty(result, FACTS, { value: { count: 0, detail: facts }, enumerable: false });
  return result;
}

export function reportFactsOf(result: unknown): AuditSubjects {
  return ((result as Record<symbol, AuditSubjects> | undefined)?.[FACTS] as AuditSubjects) ?? {};
}
