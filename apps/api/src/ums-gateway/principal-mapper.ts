import { LAB_ID_PATTERN } from '@lhcms/database';
import type { LabMembership, LabRole, Principal } from '@lhcms/request-context';

type Json = Record<string, unknown>;

const ROLES: readonly LabRole[] = ['admin', 'member', 'viewer'];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A lab id as LHCMS stores and scopes by it: integers become strings; anything else unusual is dropped. */
function labIdOf(v: unknown): string | undefined {
  const s =
    typeof v === 'number' && Number.isInteger(v)
      ? String(v)
      : typeof v === 'string'
        ? v.trim()
        : '';
  return LAB_ID_PATTERN.test(s) ? s : undefined;
}

function roleOf(v: unknown): LabRole {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v)
    ? (v as LabRole)
    : 'member';
}

function optString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The user object of `/api/auth/me`: shape A is the body itself, shape B wraps it in `user`. */
export function userOf(me: unknown): Json | undefined {
  if (!isObject(me)) return undefined;
  if (Array.isArray(me.labs) || me.id !== undefined || me.user_id !== undefined) return me;
  return isObject(me.user) ? me.user : undefined;
}

/**
 * Shape A memberships (`labs: [{lab_id, lab_name, role, membership_status}]`),
 * or the legacy direct `lab_id`. Undefined when the body carries no lab
 * information at all (shape B: ask `/api/labs`).
 */
export function membershipsFromMe(me: unknown): LabMembership[] | undefined {
  const user = userOf(me);
  if (!user) return undefined;
  const labs = Array.isArray(user.labs)
    ? user.labs
    : isObject(me) && Array.isArray(me.labs)
      ? me.labs
      : undefined;
  if (labs) {
    return labs.filter(isObject).flatMap((l) => {
      const labId = labIdOf(l.lab_id ?? l.id);
      if (!labId) return [];
      const status = l.membership_status ?? (l.is_active === false ? 'inactive' : 'active');
      return [
        {
          labId,
          labName: optString(l.lab_name ?? l.name),
          labCode: optString(l.lab_code ?? l.code),
          role: roleOf(l.role),
          active: status === 'active',
        },
      ];
    });
  }
  const direct = labIdOf(user.lab_id);
  return direct ? [{ labId: direct, role: roleOf(user.role), active: true }] : undefined;
}

/**
 * Shape B: `GET /api/labs` lists the labs where the user holds an active
 * membership (no role: member). For a UMS system admin it lists every active
 * lab, which says nothing about memberships: callers do not ask it then
 * (no implicit access, issue 19).
 */
export function membershipsFromLabs(body: unknown): LabMembership[] {
  const labs = isObject(body) && Array.isArray(body.labs) ? body.labs : [];
  return labs.filter(isObject).flatMap((l) => {
    const labId = labIdOf(l.id ?? l.lab_id);
    if (!labId) return [];
    return [
      {
        labId,
        labName: optString(l.name),
        labCode: optString(l.code),
        role: roleOf(l.role),
        active: l.is_active !== false,
      },
    ];
  });
}

/** The UMS user's platform roles (`roles`: strings, at most 20 of 1–64 characters); [] when absent. */
export function platformRolesOf(user: Json): string[] {
  const roles = Array.isArray(user.roles) ? user.roles : [];
  return roles
    .filter((r): r is string => typeof r === 'string' && r.length > 0 && r.length <= 64)
    .slice(0, 20);
}

export function principalFrom(
  me: unknown,
  memberships: LabMembership[],
  claims: { sub: string; exp: number },
): Principal {
  const user = userOf(me) ?? {};
  const id = labIdOf(user.id) ?? labIdOf(user.user_id) ?? claims.sub;
  return {
    userId: id,
    username: optString(user.username),
    email: optString(user.email),
    isSystemAdmin: user.is_admin === true,
    platformRoles: platformRolesOf(user),
    memberships,
    expiresAt: claims.exp,
  };
}

/** Merges memberships by lab id, keeping the first (the UMS's own order decides the default lab). */
export function mergeMemberships(a: LabMembership[], b: LabMembership[]): LabMembership[] {
  const seen = new Set(a.map((m) => m.labId));
  return [...a, ...b.filter((m) => !seen.has(m.labId))];
}
