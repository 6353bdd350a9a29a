import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum EmergencyAccessErrorCode {
  /** The caller holds no platform role that may request (or approve) emergency access. */
  NotPermitted = 'EMERGENCY_ACCESS_NOT_PERMITTED',
  /** The lab named by a grant request is not known to the UMS nor to LHCMS. */
  LabNotFound = 'EMERGENCY_LAB_NOT_FOUND',
  /** A case-scoped grant for a case the lab does not have. */
  CaseNotFound = 'EMERGENCY_CASE_NOT_FOUND',
  /** A request body that passed the schema but breaks a deployment rule (duration, blank reason). */
  InvalidRequest = 'EMERGENCY_ACCESS_INVALID',
  /** No grant with this id that the caller may see. */
  GrantNotFound = 'EMERGENCY_GRANT_NOT_FOUND',
  /** `X-Emergency-Grant` names no grant of the caller on the lab of `X-Lab-Id` (or is malformed). */
  GrantInvalid = 'EMERGENCY_GRANT_INVALID',
  GrantExpired = 'EMERGENCY_GRANT_EXPIRED',
  GrantRevoked = 'EMERGENCY_GRANT_REVOKED',
  /** Second-person approval is configured and the grant is not approved yet. */
  GrantPending = 'EMERGENCY_GRANT_PENDING',
  /** A case-scoped grant used outside its case. */
  GrantScope = 'EMERGENCY_GRANT_SCOPE',
  /** Revoke or approve of a grant that has already ended (or, for approve, is not pending). */
  GrantEnded = 'EMERGENCY_GRANT_ENDED',
}

registerErrorStatuses<EmergencyAccessErrorCode>({
  [EmergencyAccessErrorCode.NotPermitted]: 403,
  [EmergencyAccessErrorCode.LabNotFound]: 404,
  [EmergencyAccessErrorCode.CaseNotFound]: 404,
  [EmergencyAccessErrorCode.InvalidRequest]: 400,
  [EmergencyAccessErrorCode.GrantNotFound]: 404,
  [EmergencyAccessErrorCode.GrantInvalid]: 403,
  [EmergencyAccessErrorCode.GrantExpired]: 403,
  [EmergencyAccessErrorCode.GrantRevoked]: 403,
  [EmergencyAccessErrorCode.GrantPending]: 403,
  [EmergencyAccessErrorCode.GrantScope]: 403,
  [EmergencyAccessErrorCode.GrantEnded]: 409,
});

export class EmergencyAccessError extends DomainError<EmergencyAccessErrorCode> {
  static notPermitted(what = 'request emergency access'): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.NotPermitted,
      `Only a platform role (UMS system admin or a configured role) may ${what}`,
    );
  }

  static notLabAdmin(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.NotPermitted,
      "Only the lab's admins see its emergency grants (X-Lab-Id names a lab you are not an admin of)",
    );
  }

  static labNotFound(): EmergencyAccessError {
    return new EmergencyAccessError(EmergencyAccessErrorCode.LabNotFound, 'Lab not found');
  }

  static caseNotFound(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.CaseNotFound,
      'Case not found in this lab',
    );
  }

  static invalid(errors: Record<string, string>): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.InvalidRequest,
      'Invalid emergency access request',
      { errors },
    );
  }

  static notFound(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantNotFound,
      'Emergency grant not found',
    );
  }

  /** One answer for a malformed, unknown, foreign or other-lab grant: nothing is learnt about others' grants. */
  static invalidGrant(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantInvalid,
      'X-Emergency-Grant does not name an emergency grant of yours on the lab of X-Lab-Id',
    );
  }

  static expired(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantExpired,
      'The emergency grant has expired',
    );
  }

  static revoked(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantRevoked,
      'The emergency grant has been revoked',
    );
  }

  static pending(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantPending,
      'The emergency grant awaits approval',
    );
  }

  static scope(): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantScope,
      'The emergency grant covers one case only; this request is outside it',
    );
  }

  static ended(status: string): EmergencyAccessError {
    return new EmergencyAccessError(
      EmergencyAccessErrorCode.GrantEnded,
      `The emergency grant is ${status}`,
      { status },
    );
  }
}
