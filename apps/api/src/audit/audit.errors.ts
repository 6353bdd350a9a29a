import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum AuditErrorCode {
  /** The audit record could not be written: the request is refused (fail closed). */
  Unavailable = 'AUDIT_UNAVAILABLE',
  InvalidQuery = 'AUDIT_INVALID_QUERY',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<AuditErrorCode>({
  [AuditErrorCode.Unavailable]: 503,
  [AuditErrorCode.InvalidQuery]: 400,
});

export class AuditError extends DomainError<AuditErrorCode> {
  static unavailable(): AuditError {
    const err = new AuditError(AuditErrorCode.Unavailable, 'Audit trail unavailable');
    // The trail itself failed: nothing more can be recorded about this request.
    err.recordable = false;
    return err;
  }

  static invalidQuery(errors: Record<string, string>): AuditError {
    const first = Object.entries(errors)[0];
    return new AuditError(
      AuditErrorCode.InvalidQuery,
      first ? `Invalid ${first[0]}: ${first[1]}` : 'Invalid query',
      { errors },
    );
  }
}
