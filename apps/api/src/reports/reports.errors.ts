import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum ReportsErrorCode {
  /** The Accept header asks for neither JSON nor CSV. */
  NotAcceptable = 'REPORT_NOT_ACCEPTABLE',
}

registerErrorStatuses<ReportsErrorCode>({
  [ReportsErrorCode.NotAcceptable]: 406,
});

export class ReportsError extends DomainError<ReportsErrorCode> {
  static notAcceptable(): ReportsError {
    return new ReportsError(
      ReportsErrorCode.NotAcceptable,
      'Reports are served as application/json or text/csv; the Accept header allows neither',
    );
  }
}
