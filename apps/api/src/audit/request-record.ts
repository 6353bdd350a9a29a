import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '@lhcms/request-context';
import { ACTION_OF, type AuditRecord, outcomeOf } from './audit-event';
import type { AuditSpec } from './audited.decorator';

/**
 * The request's part of an audit row: who acted, from where, on which route,
 * with what outcome — built from the request context and the route's audit
 * spec, never from a body (no PHI).
 */

const LAB_ID = /^[A-Za-z0-9_-]{1,50}$/;
const PLAIN_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const USER_AGENT_MAX = 256;

function clean(text: string | undefined, max: number): string | null {
  if (!text) return null;
  // eslint-disable-next-line no-control-regex
  const t = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return t ? t.slice(0, max) : null;
}

/**
 * The actor's role as the trail records it: `emergency_read` / `emergency_write`
 * under an emergency grant, `compliance` for a compliance officer's review,
 * else the lab role (a system admin without a lab: `system_admin`).
 */
export function actorRoleOf(context: RequestContext): string | null {
  const access = context.access;
  if (access?.kind === 'emergency') return `emergency_${access.access}`;
  if (access?.kind === 'compliance') return 'compliance';
  const principal = context.principalOrUndefined;
  return context.labOrUndefined?.role ?? (principal?.isSystemAdmin ? 'system_admin' : null);
}

/**
 * What the trail records of a request under an emergency grant: the grant's
 * id (its reason and requester are on the grant), inside `query`, which the
 * hash chain covers. Null otherwise.
 */
export function grantQueryOf(context: RequestContext): Record<string, unknown> | null {
  const access = context.access;
  return access?.kind === 'emergency' ? { emergency_grant_id: access.grantId } : null;
}

const GRANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The well-formed `X-Emergency-Grant` a request named (whether or not it let the request through). */
function attemptedGrantOf(req: FastifyRequest): Record<string, unknown> | null {
  const h = req.headers['x-emergency-grant'];
  const id = (Array.isArray(h) ? h[0] : h)?.trim();
  return id && GRANT_ID.test(id) ? { emergency_grant_id: id.toLowerCase() } : null;
}

/** Who acted and from where: the principal and lab of the request context, the socket facts of the request. */
export function actorOf(
  context: RequestContext,
  req: FastifyRequest | undefined,
): Pick<
  AuditRecord,
  | 'actor_user_id'
  | 'actor_type'
  | 'actor_role'
  | 'source_ip'
  | 'user_agent'
  | 'request_id'
  | 'http_method'
  | 'route'
> {
  const principal = context.principalOrUndefined;
  const lab = context.labOrUndefined;
  if (!req) {
    return {
      actor_user_id: principal?.userId ?? null,
      actor_type: principal ? 'user' : 'system',
      actor_role: lab ? actorRoleOf(context) : null,
      source_ip: null,
      user_agent: null,
      request_id: context.requestId ?? null,
      http_method: null,
      route: null,
    };
  }
  const ua = req.headers['user-agent'];
  return {
    actor_user_id: principal?.userId ?? null,
    actor_type: principal ? 'user' : 'anonymous',
    actor_role: actorRoleOf(context),
    // Fastify's request.ip honours TRUSTED_PROXIES (trustProxy); X-Forwarded-For is never read here.
    source_ip: isIP(req.ip) ? req.ip : null,
    user_agent: clean(typeof ua === 'string' ? ua : undefined, USER_AGENT_MAX),
    request_id: String(req.id).slice(0, 128),
    http_method: req.method,
    route: req.routeOptions?.url ?? null,
  };
}

/** The audit row of a request as its route declares it (`spec`), with its outcome. */
export function requestRecord(
  context: RequestContext,
  req: FastifyRequest,
  spec: AuditSpec,
  status: number,
  code: string | null,
): AuditRecord {
  const who = actorOf(context, req);
  let labId = context.labOrUndefined?.labId ?? null;
  if (!labId && context.principalOrUndefined) {
    // A member of another lab naming this one in X-Lab-Id: the lab's admins see the refused attempt.
    const h = req.headers['x-lab-id'];
    const requested = (Array.isArray(h) ? h[0] : h)?.trim();
    if (requested && LAB_ID.test(requested)) labId = requested;
  }
  const params = (req.params ?? {}) as Record<string, unknown>;
  const rawId = spec.idParam ? params[spec.idParam] : undefined;
  const query: Record<string, unknown> = {};
  const q = (req.query ?? {}) as Record<string, unknown>;
  for (const name of spec.queryParams ?? []) {
    const v = q[name];
    if (typeof v === 'string') query[name] = v.slice(0, 100);
    else if (Array.isArray(v)) query[name] = v.map((x) => String(x).slice(0, 100)).slice(0, 5);
  }
  // A refused request that named a grant (expired, revoked, another user's or lab's) is on the
  // grant's record too: the lab's admins see the attempt among the grant's accesses.
  const grant = grantQueryOf(context) ?? (status >= 400 ? attemptedGrantOf(req) : null);
  if (grant) Object.assign(query, grant);
  return {
    ...who,
    occurred_at: new Date(),
    lab_id: labId,
    event_type: 'rest',
    action: ACTION_OF[spec.interaction],
    interaction: spec.interaction,
    resource_type: spec.resourceType,
    resource_id: typeof rawId === 'string' && PLAIN_ID.test(rawId) ? rawId : null,
    patient_ref: null,
    subject_count: null,
    entity_ids: null,
    patient_refs: null,
    query: Object.keys(query).length > 0 ? query : null,
    changed_fields: null,
    outcome: outcomeOf(status),
    outcome_detail: code ? code.slice(0, 64) : null,
    http_status: status,
  };
}
