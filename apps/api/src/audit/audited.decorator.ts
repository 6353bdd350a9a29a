import { applyDecorators, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { AuditInteraction } from './audit-event';

/** What a response disclosed, in terms the audit trail records. */
export interface AuditSubjects {
  /** Ids of the resources returned (a read: one; a list: every row). */
  ids?: Array<string | number>;
  /** The plaintext `patient_info` objects of those resources; only their patient_id is used, keyed. */
  patients?: unknown[];
  /**
   * The version each resource was read at (it changes with every write). With
   * the id it names the patient_info a ref is computed from, so the ref is
   * computed once per (lab, id, version), not on every read.
   */
  versions?: Array<number | undefined>;
  /**
   * The lab the result belongs to, for a route that acts in no lab
   * (`@WithoutLab()`, e.g. an emergency grant read by its requester): the row
   * goes to that lab's trail. Ignored when the request has a lab.
   */
  labId?: string;
  /** A patient_ref the request was about (audit queries). */
  patientRef?: string;
  /** Number of subjects when the ids are not listed (exports). */
  count?: number;
  /**
   * Facts of the disclosure recorded with the row's query (ids and counts,
   * never PHI): e.g. the case an attachment belongs to and the bytes served.
   */
  detail?: Record<string, string | number | boolean>;
}

/** How a route is audited. */
export interface AuditSpec {
  resourceType: string;
  interaction: AuditInteraction;
  /**
   * `read`: the interceptor records the event, durably (group commit), after
   * the handler and before the response. `transactional`: the service records
   * it inside the write's own transaction (AuditService.recordChange).
   */
  mode: 'read' | 'transactional';
  /** Route parameter holding the resource id (recorded when it is a plain id). */
  idParam?: string;
  /**
   * Routes on a record kept under a case (a note): the route parameter holding
   * the case id, so that a "case not found" there is checked for another
   * lab's case like on the case routes (a cross-lab security event of the
   * owning lab). Case routes need none: their resource is the case.
   */
  caseIdParam?: string;
  /** Query parameters recorded with their values (never PHI). Others are dropped. */
  queryParams?: readonly string[];
  /** What the handler's result disclosed (reads). */
  subjects?: (result: unknown) => AuditSubjects;
  /** The status of a success (default 200). */
  successStatus?: number;
  /**
   * Transactional routes: whether the handler's result says it wrote anything
   * (default: always). A result that wrote nothing (a bulk change in which no
   * item succeeded) has no transactional audit row by design: it is recorded
   * like a read, and that is no fault of the service.
   */
  wrote?: (result: unknown) => boolean;
}

export const AUDIT_SPEC = 'lhcms:audit';
/** Key of the spec in the Fastify route config, where the exception filter finds it. */
export const AUDIT_ROUTE_CONFIG_KEY = 'lhcmsAudit';

/**
 * Declares that a route touches audited data. The spec is kept twice: as
 * handler metadata for the interceptor, and in the Fastify route config for
 * the exception filter, which also sees requests refused before any
 * interceptor ran (a guard's 401/403). A handler that needs other Fastify
 * route config must pass it through `Audited`'s `routeConfig` (one
 * `@RouteConfig` per handler).
 */
export function Audited(
  spec: AuditSpec,
  routeConfig: Record<string, unknown> = {},
): MethodDecorator {
  return applyDecorators(
    SetMetadata(AUDIT_SPEC, spec),
    RouteConfig({ ...routeConfig, [AUDIT_ROUTE_CONFIG_KEY]: spec }),
  );
}
