/**
 * Errors services throw. Each module declares its codes; the one exception
 * filter maps every code to an HTTP status with an exhaustive switch
 * (errors/error-status.ts). Services never import HTTP exceptions.
 */
export abstract class DomainError<C extends string = string> extends Error {
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
