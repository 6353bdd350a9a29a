import type { AuditSubjects } from '../audit';

/**
 * What a response disclosed, for the audit row of a list or download: kept
 * on the handler's result under a symbol, so it never reaches the JSON body.
 */
export const AUDIT_FACTS = Symbol('lhcms.attachment-audit-facts');

export interface WithAuditFacts {
  [AUDIT_FACTS]?: AuditSubjects;
}

export function withAuditFacts<T extends object>(result: T, facts: AuditSubjects): T {
  Object.defineProperty(result, AUDIT_FACTS, { value: facts, enumerable: false });
  return result;
}

/** The `subjects` function of an attachment route's audit spec. */
export function auditFactsOf(result: unknown): AuditSubjects {
  return (result as WithAuditFacts | undefined)?.[AUDIT_FACTS] ?? {};
}
