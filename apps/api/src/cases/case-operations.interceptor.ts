import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Observable, tap } from 'rxjs';
import { DomainError } from '../common/errors/domain-error';
import { statusFor } from '../common/errors/error-status';
import { type CaseOperation, MetricsService } from '../metrics';
import { CASE_OPERATION } from './case-route.decorator';

/**
 * Counts case operations by outcome: success, client_error (a 4xx the
 * client caused: not found, invalid, illegal transition, precondition) or
 * error (anything else). Requests refused before the handler (401/403/429)
 * are in lhcms_requests_total, not here. The operation label is the one the
 * route declares (`@CaseRoute({ operation })`), never derived from a method
 * name; a route that declares none is not counted.
 */
@Injectable()
export class CaseOperationsInterceptor implements NestInterceptor {
  constructor(
    private readonly metrics: MetricsService,
    private readonly reflector: Reflector,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const operation = this.reflector.get<CaseOperation | undefined>(
      CASE_OPERATION,
      ctx.getHandler(),
    );
    if (!operation) return next.handle();
    return next.handle().pipe(
      tap({
        next: () => this.metrics.caseOperation(operation, 'success'),
        error: (err: unknown) => {
          const status = err instanceof DomainError ? statusFor(String(err.code)) : 500;
          this.metrics.caseOperation(operation, status < 500 ? 'client_error' : 'error');
        },
      }),
    );
  }
}
