import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  Logger,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { concatMap, type Observable } from 'rxjs';
import { AUDIT_SPEC, type AuditSpec } from './audited.decorator';
import { AuditService } from './audit.service';

/**
 * Audits the success path of @Audited routes. Reads: the row is
 * group-committed after the handler and before the response; if it cannot
 * be written the request fails with 503 and the data is never sent. Writes:
 * the service recorded the row inside its transaction; should it not have,
 * the interceptor records it now (and logs the omission) rather than let
 * the write go unaudited. Refusals and failures are the exception filter's.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly log = new Logger('Audit');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.audit.enabled || ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    // A route without @Audited is still audited when the request runs under an emergency grant.
    const spec =
      this.reflector.get<AuditSpec | undefined>(AUDIT_SPEC, ctx.getHandler()) ??
      this.audit.emergencySpec(req);
    if (!spec) return next.handle();
    this.audit.bindRequest(req, spec);
    return next.handle().pipe(
      concatMap(async (result: unknown) => {
        const unrecorded = spec.mode === 'transactional' && this.audit.recordedInRequest() === 0;
        if (spec.mode === 'read' || (unrecorded && spec.wrote?.(result) === false)) {
          await this.audit.recordRead(req, spec, result);
        } else if (unrecorded) {
          this.log.error(
            { route: req.routeOptions?.url, method: req.method },
            'a write route completed without a transactional audit row; recorded after the fact',
          );
          await this.audit.recordRead(req, spec, result);
        }
        return result;
      }),
    );
  }
}
