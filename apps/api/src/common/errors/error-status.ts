import { AuditErrorCode } from '../../audit/audit.errors';
import { CasesErrorCode } from '../../cases/cases.errors';
import { AuthErrorCode } from '../../ums-gateway/ums-gateway.errors';
import { CommonErrorCode } from './domain-error';

/** Every domain error code of the API. A new module adds its enum here. */
export type ErrorCode = CommonErrorCode | AuthErrorCode | CasesErrorCode | AuditErrorCode;

/** The HTTP status of each code. Exhaustive: a code without a status does not compile. */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case CommonErrorCode.ValidationFailed:
    case CommonErrorCode.BadRequest:
      return 400;
    case CommonErrorCode.DatabaseUnavailable:
      return 503;
    case AuthErrorCode.MissingToken:
    case AuthErrorCode.MalformedHeader:
    case AuthErrorCode.InvalidToken:
      return 401;
    case AuthErrorCode.NoLab:
    case AuthErrorCode.NotLabMember:
    case AuthErrorCode.MissingPermission:
      return 403;
    case AuthErrorCode.AuthServiceUnavailable:
      return 503;
    case CasesErrorCode.CaseNotFound:
    case CasesErrorCode.DoctorUnknown:
      return 404;
    case CasesErrorCode.InvalidQuery:
    case CasesErrorCode.DoctorNotFound:
    case CasesErrorCode.DoctorNotLinked:
    case CasesErrorCode.ProductNotFound:
      return 400;
    case CasesErrorCode.DirectoryNotConfigured:
    case CasesErrorCode.DirectoryUnavailable:
      return 503;
    case AuditErrorCode.InvalidQuery:
      return 400;
    case AuditErrorCode.Unavailable:
      return 503;
  }
}
