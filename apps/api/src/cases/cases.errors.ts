import { DomainError } from '../common/errors/domain-error';

export enum CasesErrorCode {
  CaseNotFound = 'CASE_NOT_FOUND',
  InvalidQuery = 'CASE_INVALID_QUERY',
  DoctorNotFound = 'CASE_DOCTOR_NOT_FOUND',
  DoctorUnknown = 'CASE_DOCTOR_UNKNOWN',
  DoctorNotLinked = 'CASE_DOCTOR_NOT_LINKED',
  ProductNotFound = 'CASE_PRODUCT_NOT_FOUND',
  DirectoryNotConfigured = 'CASE_DIRECTORY_NOT_CONFIGURED',
  DirectoryUnavailable = 'CASE_DIRECTORY_UNAVAILABLE',
}

export class CasesError extends DomainError<CasesErrorCode> {
  /** A missing case and another lab's case are indistinguishable. */
  static notFound(): CasesError {
    return new CasesError(CasesErrorCode.CaseNotFound, 'Case not found');
  }

  /** doctor-info of a doctor the directory does not know (404; on create the same fact is a 400). */
  static doctorNotFound(): CasesError {
    return new CasesError(CasesErrorCode.DoctorUnknown, 'Doctor not found');
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
