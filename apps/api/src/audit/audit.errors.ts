import { DomainError } from '../common/errors/domain-error';

export enum AuditErrorCode {
  /** The audit record could not be written: the request is refused (fail closed). */
  Unavailable = 'AUDIT_UNAVAILABLE',
  InvalidQuery = 'AUDIT_INVALID_QUERY',
}

export class AuditError extends DomainError<AuditErrorCode> {
  static unavailable(): AuditError {
    return new AuditError(AuditErrorCode.Unavailable, 'Audit trail unavailable');
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
