import { DomainError } from '../common/errors/domain-error';

export enum SecurityErrorCode {
  RateLimited = 'SECURITY_RATE_LIMITED',
}

export class RateLimitedError extends DomainError<SecurityErrorCode> {
  constructor(readonly retryAfterSeconds: number) {
    super(SecurityErrorCode.RateLimited, `Rate limit exceeded; retry in ${retryAfterSeconds} s`);
  }
}
