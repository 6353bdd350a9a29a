/**
 * Errors services throw. Each module declares its codes and registers the
 * HTTP status of each (registerErrorStatuses, errors/error-status.ts); the one
 * exception filter answers with it. Services never import HTTP exceptions.
 */
export abstract class DomainError<C extends string = string> extends Error {
  /** Response headers the answer carries (e.g. `Retry-After` of a rate limit). */
  headers?: Readonly<Record<string, string>>;
  /**
   * False for a failure of the audit trail itself: the refusal cannot be put
   * on record either, so the exception filter does not try.
   */
  recordable = true;

  constructor(
    readonly code: C,
    message: string,
    /** Extra, non-PHI fields added to the error body (e.g. allowed transitions). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Codes of the shared edge (request shape, infrastructure). */
export enum CommonErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  BadRequest = 'BAD_REQUEST',
  DatabaseUnavailable = 'DATABASE_UNAVAILABLE',
}

export class CommonError extends DomainError<CommonErrorCode> {}

/** 400 with every failing field at once, as dotted paths (`fixed_prosthetic.tooth_numbers.0`). */
export class ValidationFailedError extends CommonError {
  constructor(readonly errors: Record<string, string>) {
    super(CommonErrorCode.ValidationFailed, 'Input payload validation failed', { errors });
  }
}
