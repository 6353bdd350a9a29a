/** Lab roles as the UMS names them. */
export type LabRole = 'admin' | 'member' | 'viewer';

export interface LabMembership {
  /** Normalised to a string once, at the gateway (the UMS sends integers or strings). */
  labId: string;
  labName?: string;
  labCode?: string;
  role: LabRole;
  active: boolean;
}

/** The authenticated caller, resolved by the ums-gateway from the bearer token. */
export interface Principal {
  userId: string;
  username?: string;
  email?: string;
  /**
   * UMS system admin (`is_admin`). Grants no lab access by itself (issue 19):
   * only memberships do, or an emergency-access grant.
   */
  isSystemAdmin: boolean;
  /** UMS platform roles (the user's `roles`), e.g. a support or compliance role; [] when none. */
  platformRoles?: string[];
  memberships: LabMembership[];
  /** Token expiry (epoch seconds). */
  expiresAt: number;
}
