import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClsServiceManager } from 'nestjs-cls';
import { type LhcmsStore, RequestContext } from '@lhcms/request-context';
import { Permission } from '../ums-gateway';
import { roleAllows } from '../ums-gateway';
import { CasesError } from '../case-model';
import type { CaseActor, WriteOptions } from './use-cases';

/** The bearer token of a request ('' without one): forwarded to the doctor directory. */
export function bearerToken(req: FastifyRequest): string {
  return (req.headers.authorization ?? '').trim().split(/\s+/)[1] ?? '';
}

/**
 * The caller as the case use cases see it (`CaseActor`): the principal and
 * the lab the guard resolved into the request context, the bearer token,
 * whether the caller's role may reopen cases, and the request id. Only on
 * routes that act in a lab (not `@WithoutLab()`).
 */
export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): CaseActor => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest>();
  const context = new RequestContext(ClsServiceManager.getClsService<LhcmsStore>());
  const lab = context.lab;
  return {
    userId: context.principal.userId,
    labId: lab.labId,
    labCode: lab.labCode,
    token: bearerToken(req),
    canReopen: roleAllows(lab.role, Permission.CaseReopen),
    requestId: String(req.id),
  };
});

/** The caller's bearer token (for routes without a lab, such as the doctor directory). */
export const BearerToken = createParamDecorator((_: unknown, ctx: ExecutionContext): string =>
  bearerToken(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

/** The version an If-Match names (`"3"`, `W/"3"`); `*` or no header: no precondition. */
export function ifMatchVersion(header: string | undefined): WriteOptions {
  if (header === undefined || header.trim() === '*') return {};
  const m = /^(?:W\/)?"(\d{1,10})"$/.exec(header.trim());
  // An unparseable If-Match cannot match any version.
  return { ifMatch: m ? Number(m[1]) : -1 };
}

/** The write's precondition from the If-Match header (see `ifMatchVersion`). */
export const IfMatch = createParamDecorator((_: unknown, ctx: ExecutionContext): WriteOptions => {
  const header = ctx.switchToHttp().getRequest<FastifyRequest>().headers['if-match'];
  return ifMatchVersion(typeof header === 'string' ? header : undefined);
});

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,255}$/;

/** The Idempotency-Key header of a create, if sent; 400 when it is not 1 to 255 of [A-Za-z0-9._:-]. */
export const IdempotencyKey = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | undefined => {
    const key = ctx.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
      throw CasesError.invalidQuery({ 'Idempotency-Key': 'must be 1 to 255 of [A-Za-z0-9._:-]' });
    }
    return key;
  },
);
