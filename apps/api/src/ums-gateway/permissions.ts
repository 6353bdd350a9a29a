import { SetMetadata } from '@nestjs/common';
import type { LabRole } from '@lhcms/request-context';

/** Every permission LHCMS checks: one catalogue, declared on handlers with @RequirePermission. */
export enum Permission {
  CaseRead = 'case:read',
  CaseCreate = 'case:create',
  CaseUpdate = 'case:update',
  CaseStatus = 'case:status',
  CaseDelete = 'case:delete',
  CaseReopen = 'case:reopen',
  AuditRead = 'audit:read',
  AuditExport = 'audit:export',
  LabSettings = 'lab:settings',
  /** Read a case's notes. */
  NoteRead = 'note:read',
  /** Write notes; edit and delete one's own. */
  NoteWrite = 'note:write',
  /** Edit and delete anyone's note; read a note's earlier texts. */
  NoteModerate = 'note:moderate',
  /**
   * The lab's aggregate reports (/api/v1/reports/…): every role holds it; a
   * lab admin may withdraw it from viewers (the lab's report settings,
   * `viewer_access`), which the reports module checks with `viewerMayRead`.
   */
  ReportRead = 'report:read',
  /** The doctor directory: any authenticated user (the original's doctor-info needed no lab). */
  DoctorRead = 'doctor:read',
  /**
   * The emergency-access routes (/api/v1/emergency-access): any authenticated
   * user reaches them; the use case decides (a platform role requests, the
   * lab's admins and the requester see and revoke).
   */
  EmergencyAccess = 'emergency:access',
}

const VIEWER = [
  Permission.CaseRead,
  Permission.DoctorRead,
  Permission.NoteRead,
  Permission.ReportRead,
] as const;
const MEMBER = [
  ...VIEWER,
  Permission.CaseCreate,
  Permission.CaseUpdate,
  Permission.CaseStatus,
  Permission.NoteWrite,
] as const;
const ADMIN = [
  ...MEMBER,
  Permission.CaseDelete,
  Permission.CaseReopen,
  Permission.AuditRead,
  Permission.AuditExport,
  Permission.LabSettings,
  Permission.NoteModerate,
] as const;

/**
 * UMS lab roles → permissions: a viewer reads (cases and their notes), a
 * member also creates, updates and moves cases and writes notes (changing
 * only their own), an admin also deletes, reopens, reviews the audit trail,
 * manages lab settings and edits, deletes or reads the history of anyone's
 * note. Being a UMS system admin grants nothing in a lab by itself: an
 * emergency-access grant acts with a viewer's (read) or a member's (write)
 * permissions (GRANT_ROLE, emergency-access), never an admin's.
 */
export const ROLE_PERMISSIONS: Record<LabRole, ReadonlySet<Permission>> = {
  viewer: new Set(VIEWER),
  member: new Set(MEMBER),
  admin: new Set(ADMIN),
};

/** Granted to every authenticated principal, with or without a lab. */
export const AUTHENTICATED_PERMISSIONS: ReadonlySet<Permission> = new Set([
  Permission.DoctorRead,
  Permission.EmergencyAccess,
]);

/**
 * What a compliance officer (a UMS platform role in COMPLIANCE_ROLES) may do
 * in any lab named by X-Lab-Id without being a member: the audit review and
 * export (with the patient access report and a case's access log). No case
 * permission: a compliance officer never reads case PHI.
 */
export const COMPLIANCE_PERMISSIONS: ReadonlySet<Permission> = new Set([
  Permission.AuditRead,
  Permission.AuditExport,
]);

export const REQUIRED_PERMISSION = 'lhcms:permission';

/** The permission a handler needs (checked in the lab the request acts in). */
export const RequirePermission = (p: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_PERMISSION, p);

/**
 * Permissions a lab may withdraw from its viewers (a lab setting): the one
 * place that says a lab's own choice narrows a role. Checked after the role.
 */
export const VIEWER_WITHDRAWABLE: ReadonlySet<Permission> = new Set([Permission.ReportRead]);

/** Whether `role` holds `p` in a lab that has (`withdrawn`) or has not withdrawn it from viewers. */
export function labAllows(role: LabRole | undefined, p: Permission, withdrawnFromViewers: boolean) {
  if (!roleAllows(role, p)) return false;
  return !(role === 'viewer' && withdrawnFromViewers && VIEWER_WITHDRAWABLE.has(p));
}

export function roleAllows(role: LabRole | undefined, p: Permission): boolean {
  return AUTHENTICATED_PERMISSIONS.has(p) || (role !== undefined && ROLE_PERMISSIONS[role].has(p));
}
