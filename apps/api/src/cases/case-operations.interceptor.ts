import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { DomainError } from '../common/errors/domain-error';
import { type ErrorCode, statusFor } from '../common/errors/error-status';
import { type CaseOperation, MetricsService } from '../metrics/metrics.service';

/** Handler → the operation label of `lhcms_case_operations_total` (its values are declared in the metric catalogue). */
const OPERATIONS: Record<string, CaseOperation> = {
  list: 'list',
  get: 'read',
  byNumber: 'read',
  events: 'read_events',
  create: 'create',
  update: 'update',
  changeStatus: 'status_change',
  changeStage: 'stage_change',
  bulkStatus: 'bulk_status',
  remove: 'delete',
};

/**
 * Counts case operations by outcome: success, client_error (a 4xx the
 * client caused: not found, invalid, illegal transition, precondition) or
 * error (anything else). Requests refused before the handler (401/403/429)
 * are in lhcms_requests_total, not here.
 */
@Injectable()
export class CaseOperationsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: MetricsService) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const operation = OPERATIONS[ctx.getHandler().name];
    if (!operation) return next.handle();
    return next.handle().pipe(
      tap({
        next: () => this.metrics.caseOperation(operation, 'success'),
        error: (err: unknown) => {
          const status = err instanceof DomainError ? statusFor(err.code as ErrorCode) : 500;
          this.metrics.caseOperation(operation, status < 500 ? 'client_error' : 'error');
        },
      }),
    );
  }
}
