import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum CasesErrorCode {
  CaseNotFound = 'CASE_NOT_FOUND',
  InvalidQuery = 'CASE_INVALID_QUERY',
  DoctorNotFound = 'CASE_DOCTOR_NOT_FOUND',
  DoctorUnknown = 'CASE_DOCTOR_UNKNOWN',
  DoctorNotLinked = 'CASE_DOCTOR_NOT_LINKED',
  ProductNotFound = 'CASE_PRODUCT_NOT_FOUND',
  DirectoryNotConfigured = 'CASE_DIRECTORY_NOT_CONFIGURED',
  DirectoryUnavailable = 'CASE_DIRECTORY_UNAVAILABLE',
  IllegalTransition = 'CASE_ILLEGAL_TRANSITION',
  ReasonRequired = 'CASE_REASON_REQUIRED',
  VersionMismatch = 'CASE_VERSION_MISMATCH',
  InvalidStage = 'CASE_INVALID_STAGE',
  IdempotencyKeyReused = 'CASE_IDEMPOTENCY_KEY_REUSED',
  InvalidSettings = 'CASE_INVALID_SETTINGS',
  NotRemakeable = 'CASE_NOT_REMAKEABLE',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<CasesErrorCode>({
  [CasesErrorCode.CaseNotFound]: 404,
  [CasesErrorCode.DoctorUnknown]: 404,
  [CasesErrorCode.IllegalTransition]: 409,
  [CasesErrorCode.IdempotencyKeyReused]: 409,
  [CasesErrorCode.NotRemakeable]: 409,
  [CasesErrorCode.VersionMismatch]: 412,
  [CasesErrorCode.ReasonRequired]: 400,
  [CasesErrorCode.InvalidStage]: 400,
  [CasesErrorCode.InvalidSettings]: 400,
  [CasesErrorCode.InvalidQuery]: 400,
  [CasesErrorCode.DoctorNotFound]: 400,
  [CasesErrorCode.DoctorNotLinked]: 400,
  [CasesErrorCode.ProductNotFound]: 400,
  // Not Implemented: a fact of the deployment, not a fault, so the error SLO leaves it out.
  [CasesErrorCode.DirectoryNotConfigured]: 501,
  [CasesErrorCode.DirectoryUnavailable]: 503,
});

export class CasesError extends DomainError<CasesErrorCode> {
  /** A missing case and another lab's case are indistinguishable. */
  static notFound(): CasesError {
    return new CasesError(CasesErrorCode.CaseNotFound, 'Case not found');
  }

  /** doctor-info of a doctor the directory does not know (404; on create the same fact is a 400). */
  static doctorNotFound(): CasesError {
    return new CasesError(CasesErrorCode.DoctorUnknown, 'Doctor not found');
  }

  static illegalTransition(from: string, to: string, allowed: string[]): CasesError {
    return new CasesError(
      CasesErrorCode.IllegalTransition,
      `A ${from} case cannot move to ${to}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ' (it is final)'}`,
      { current_status: from, allowed_transitions: allowed },
    );
  }

  /** A cancelled or deleted case cannot be remade (there is nothing delivered to redo). */
  static notRemakeable(why: 'cancelled' | 'deleted'): CasesError {
    return new CasesError(CasesErrorCode.NotRemakeable, `A ${why} case cannot be remade`, {
      not_remakeable: why,
    });
  }

  static reasonRequired(what: string): CasesError {
    return new CasesError(CasesErrorCode.ReasonRequired, `A reason is required to ${what}`, {
      errors: { reason: `'reason' is required to ${what}` },
    });
  }

  static versionMismatch(current: number): CasesError {
    return new CasesError(
      CasesErrorCode.VersionMismatch,
      'The case changed since you read it (If-Match does not match its current ETag)',
      { current_etag: `"${current}"` },
    );
  }

  static invalidQuery(errors: Record<string, string>): CasesError {
    const first = Object.entries(errors)[0];
    return new CasesError(
      CasesErrorCode.InvalidQuery,
      first ? `Invalid ${first[0]}: ${first[1]}` : 'Invalid query',
      {
        errors,
      },
    );
  }
}
