import { applyDecorators, HttpCode, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  type ApiHeaderOptions,
  ApiOperation,
  ApiParam,
  ApiResponse,
} from '@nestjs/swagger';
import { Audited, type AuditSpec } from '../audit';
import { JSON_BODY_ROUTE_CONFIG } from '../common/http/json-body';
import { ApiErrors, ApiJsonBody, ApiOk } from '../common/openapi/api-docs.decorators';
import type { CaseOperation } from '../metrics';
import { WithoutLab } from '../common/http/public.decorator';
import { type Permission, RequirePermission } from '../ums-gateway';

/** Metadata key of a route's `lhcms_case_operations_total` operation label. */
export const CASE_OPERATION = 'lhcms:case-operation';

/** How OpenAPI describes a case route (the texts live in case-route-docs.ts). */
export interface CaseRouteDocs {
  summary: string;
  description?: string;
  /** Other request headers to document (after X-Lab-Id and If-Match). */
  headers?: ApiHeaderOptions[];
  /** Other parameter docs (ApiParam / ApiQuery), after the operation. */
  params?: MethodDecorator[];
  /** The success response: a schema name (none: a response without body) and its text. */
  ok: { schema?: string; description?: string };
  /** The documented error statuses. */
  errors: number[];
}

export interface CaseRouteSpec {
  /** The permission the caller's role in the lab needs. */
  permission: Permission;
  /**
   * The `operation` label this route counts under in `lhcms_case_operations_total`
   * (a value of the metric catalogue). Routes without one are not counted.
   */
  operation?: CaseOperation;
  /** false: the route acts in no lab (`@WithoutLab()`, no X-Lab-Id header). Default true. */
  lab?: boolean;
  /** The route reads an If-Match header (412 when the case changed since). */
  ifMatch?: boolean;
  /** The route has an `:id` path parameter (a positive integer; the audited resource id). */
  id?: boolean;
  /** The request body's schema name (a JSON body; the same name as the route's SchemaPipe). */
  body?: string;
  /** The success status (default 200). */
  status?: number;
  /**
   * The route's audit spec (see `@Audited`). The resource type defaults to
   * `case`, the id parameter to `id` on `id` routes, and the success status
   * is the route's.
   */
  audit?: Omit<AuditSpec, 'resourceType' | 'successStatus'> & { resourceType?: string };
  docs: CaseRouteDocs;
}

const LAB_HEADER = ApiHeader({
  name: 'X-Lab-Id',
  required: false,
  description:
    'The lab to act in; must be one of your active memberships. Default: your first active membership.',
});

const IF_MATCH = ApiHeader({
  name: 'If-Match',
  required: false,
  description: 'The ETag of the case as you read it; 412 when the case changed since.',
});

const ID_PARAM = ApiParam({ name: 'id', schema: { type: 'integer', minimum: 1 } });

/**
 * Everything an authenticated case route declares, in one decorator: its
 * permission and lab, its metric operation, its audit spec, its status and
 * its OpenAPI documentation (bearer auth, headers, parameters, body,
 * responses). The HTTP method and path stay on the route.
 */
export function CaseRoute(spec: CaseRouteSpec): MethodDecorator {
  const status = spec.status ?? 200;
  const { docs } = spec;
  const lab = spec.lab ?? true;
  // Listed in the order the stacked decorators were applied (bottom first).
  const decorators: MethodDecorator[] = [];
  if (spec.audit) {
    decorators.push(
      Audited(
        {
          resourceType: 'case',
          ...(spec.id ? { idParam: 'id' } : {}),
          ...spec.audit,
          ...(status !== 200 ? { successStatus: status } : {}),
        },
        // A route with a body takes JSON only, whatever its method (a DELETE with a reason too).
        spec.body ? { [JSON_BODY_ROUTE_CONFIG]: true } : {},
      ),
    );
  }
  decorators.push(ApiErrors(...docs.errors));
  decorators.push(
    docs.ok.schema
      ? ApiOk(docs.ok.schema, status, docs.ok.description)
      : ApiResponse({ status, description: docs.ok.description }),
  );
  if (spec.body) decorators.push(ApiJsonBody(spec.body));
  decorators.push(...[...(docs.params ?? [])].reverse());
  if (spec.id) decorators.push(ID_PARAM);
  decorators.push(ApiOperation({ summary: docs.summary, description: docs.description }));
  for (const h of [...(docs.headers ?? [])].reverse()) decorators.push(ApiHeader(h));
  if (spec.ifMatch) decorators.push(IF_MATCH);
  if (lab) decorators.push(LAB_HEADER);
  decorators.push(ApiBearerAuth(), RequirePermission(spec.permission));
  if (!lab) decorators.push(WithoutLab());
  if (spec.operation) decorators.push(SetMetadata(CASE_OPERATION, spec.operation));
  if (spec.status !== undefined) decorators.push(HttpCode(spec.status));
  return applyDecorators(...decorators);
}
