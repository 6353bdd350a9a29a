import { AuditErrorCode } from '../../audit/audit.errors';
import { CasesErrorCode } from '../../cases/cases.errors';
import { SecurityErrorCode } from '../../security/security.errors';
import { AuthErrorCode } from '../../ums-gateway/ums-gateway.errors';
import { CommonErrorCode } from './domain-error';

/** Every domain error code of the API. A new module adds its enum here. */
export type ErrorCode =
  CommonErrorCode | AuthErrorCode | CasesErrorCode | SecurityErrorCode | AuditErrorCode;

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
    case CasesErrorCode.IllegalTransition:
    case CasesErrorCode.IdempotencyKeyReused:
      return 409;
    case CasesErrorCode.VersionMismatch:
      return 412;
    case CasesErrorCode.ReasonRequired:
    case CasesErrorCode.InvalidStage:
    case CasesErrorCode.InvalidSettings:
    case CasesErrorCode.InvalidQuery:
    case CasesErrorCode.DoctorNotFound:
    case CasesErrorCode.DoctorNotLinked:
    case CasesErrorCode.ProductNotFound:
      return 400;
    case SecurityErrorCode.RateLimited:
      return 429;
    case CasesErrorCode.DirectoryNotConfigured:
      // Not Implemented: a fact of the deployment, not a fault, so the error SLO leaves it out.
      return 501;
    case CasesErrorCode.DirectoryUnavailable:
      return 503;
    case AuditErrorCode.InvalidQuery:
      return 400;
    case AuditErrorCode.Unavailable:
      return 503;
  }
}
