import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum AuthErrorCode {
  MissingToken = 'AUTH_MISSING_TOKEN',
  MalformedHeader = 'AUTH_MALFORMED_HEADER',
  InvalidToken = 'AUTH_INVALID_TOKEN',
  AuthServiceUnavailable = 'AUTH_SERVICE_UNAVAILABLE',
  NoLab = 'AUTH_NO_LAB',
  NotLabMember = 'AUTH_NOT_LAB_MEMBER',
  MissingPermission = 'AUTH_MISSING_PERMISSION',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<AuthErrorCode>({
  [AuthErrorCode.MissingToken]: 401,
  [AuthErrorCode.MalformedHeader]: 401,
  [AuthErrorCode.InvalidToken]: 401,
  [AuthErrorCode.NoLab]: 403,
  [AuthErrorCode.NotLabMember]: 403,
  [AuthErrorCode.MissingPermission]: 403,
  [AuthErrorCode.AuthServiceUnavailable]: 503,
});

export class AuthError extends DomainError<AuthErrorCode> {
  static missingToken(): AuthError {
    return new AuthError(AuthErrorCode.MissingToken, 'Authorization header is required');
  }

  static malformedHeader(): AuthError {
    return new AuthError(AuthErrorCode.MalformedHeader, 'Invalid authorization header format');
  }

  /** One message for every token problem: the client learns nothing about why. */
  static invalidToken(): AuthError {
    return new AuthError(AuthErrorCode.InvalidToken, 'Invalid or expired token');
  }

  static missingPermission(permission: string): AuthError {
    return new AuthError(AuthErrorCode.MissingPermission, `Missing permission ${permission}`, {
      missing_permission: permission,
    });
  }

  static unavailable(): AuthError {
    return new AuthError(
      AuthErrorCode.AuthServiceUnavailable,
      'Authentication service unavailable',
    );
  }
}

/** Raised by the UMS client; the gateway turns them into AuthErrors. */
export class UmsUnauthorized extends Error {}
export class UmsUnavailable extends Error {
  constructor(
    message: string,
    readonly outcome: 'error' | 'timeout' | 'circuit_open',
  ) {
    super(message);
  }
}
