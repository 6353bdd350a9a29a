import type { LabAccess, LabMembership, Principal } from '@lhcms/request-context';

/**
 * Resolves `X-Emergency-Grant` for the auth guard. Declared here, provided by
 * the emergency-access module (which sits above the gateway): the guard asks,
 * the grant's rules stay there. Throws a 403 domain error when the grant does
 * not let this caller act in the lab of X-Lab-Id.
 */
export interface EmergencyGrantResolver {
  resolve(
    principal: Principal,
    grantHeader: string | undefined,
    labHeader: string | undefined,
    request: { route: string | undefined; params: unknown },
  ): Promise<{ lab: LabMembership; access: LabAccess }>;
}

export const EMERGENCY_GRANT_RESOLVER = Symbol('EMERGENCY_GRANT_RESOLVER');

/** The header of a request made under an emergency grant. */
export const EMERGENCY_GRANT_HEADER = 'x-emergency-grant';

const CASE_ROUTE = /^\/api\/v1\/cases\/:id(\/|$)/;

/**
 * Whether a request stays within a case-scoped grant: only the routes of that
 * one case (`/api/v1/cases/{id}` and what hangs below it). Lists, other cases,
 * case numbers, reports and lab settings are outside it.
 */
export function withinCase(route: string | undefined, params: unknown, caseId: string): boolean {
  if (!route || !CASE_ROUTE.test(route)) return false;
  const id = (params as Record<string, unknown> | undefined)?.id;
  return typeof id === 'string' && /^\d{1,10}$/.test(id) && BigInt(id) === BigInt(caseId);
}
