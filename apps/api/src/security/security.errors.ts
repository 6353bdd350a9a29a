import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum SecurityErrorCode {
  RateLimited = 'SECURITY_RATE_LIMITED',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<SecurityErrorCode>({ [SecurityErrorCode.RateLimited]: 429 });

export class RateLimitedError extends DomainError<SecurityErrorCode> {
  constructor(readonly retryAfterSeconds: number) {
    super(SecurityErrorCode.RateLimited, `Rate limit exceeded; retry in ${retryAfterSeconds} s`);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}
