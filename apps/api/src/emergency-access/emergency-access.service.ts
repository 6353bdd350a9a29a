import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Env } from '@lhcms/config';
import { DatabaseConnector, LAB_ID_PATTERN } from '@lhcms/database';
import type { LabAccess, LabMembership, Principal } from '@lhcms/request-context';
import { AuditService } from '../audit';
import { PhiCipher, TEXT_BINDING } from '../encryption';
import { MetricsService } from '../metrics';
import { type EmergencyGrantResolver, UmsGatewayService, withinCase } from '../ums-gateway';
import { Clock } from './clock';
import { EmergencyAccessError } from './emergency-access.errors';
import {
  EmergencyAccessRepository,
  type GrantAccessRow,
  type GrantRow,
} from './emergency-access.repository';
import type {
  EmergencyGrantRequestBody,
  GrantAccess,
  GrantStatus,
} from './emergency-access.schemas';

/** The binding of a grant's encrypted reason (ENCRYPTED_TEXT_COLUMNS: key rotation re-encrypts it). */
const REASON_COLUMN = TEXT_BINDING.emergencyReason();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How often a replica recounts the deployment's active grants for the gauge. */
const GAUGE_REFRESH_MS = 30_000;

/** The stored grant's time columns, which the API sends as ISO strings. */
type GrantTimes = 'created_at' | 'approved_at' | 'expires_at' | 'revoked_at';

/** A grant as the API returns it: the stored row with the reason decrypted, times as ISO strings and the derived status. */
export interface GrantView extends Omit<GrantRow, GrantTimes | 'status'> {
  status: GrantStatus;
  created_at: string;
  approved_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

/** The lab role a grant acts with: read = a viewer's permissions, write = a member's; never an admin's. */
export const GRANT_ROLE: Record<GrantAccess, LabMembership['role']> = {
  read: 'viewer',
  write: 'member',
};

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

export function firstHeader(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined ? undefined : v.trim();
}

/**
 * Emergency access (break-glass, docs/hipaa.md#emergency-access): a
 * platform-role user asks for a time-boxed, justified grant on one lab (or
 * one case); requests under it carry `X-Emergency-Grant` and act with the
 * grant's permissions, each one audited with the grant's id. The lab's admins
 * see their lab's grants and each grant's accesses, and may revoke.
 */
@Injectable()
export class EmergencyAccessService
  implements EmergencyGrantResolver, OnModuleInit, OnModuleDestroy
{
  private readonly log = new Logger('EmergencyAccess');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly repo: EmergencyAccessRepository,
    private readonly phi: PhiCipher,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly gateway: UmsGatewayService,
    private readonly clock: Clock,
    private readonly connector: DatabaseConnector,
  ) {}

  onModuleInit(): void {
    this.connector.onConnect(() => setImmediate(() => void this.refreshGauge()));
    this.timer = setInterval(() => void this.refreshGauge(), GAUGE_REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** UMS system admin, or a platform role named in EMERGENCY_ACCESS_ROLES. */
  mayRequest(p: Principal): boolean {
    return (
      p.isSystemAdmin ||
      (p.platformRoles ?? []).some((r) => this.env.EMERGENCY_ACCESS_ROLES.includes(r))
    );
  }

  private isLabAdmin(p: Principal, labId: string): boolean {
    return p.memberships.some((m) => m.active && m.labId === labId && m.role === 'admin');
  }

  /** The status of a grant now (expiry is a matter of time, not of a stored flag). */
  statusOf(g: GrantRow): GrantStatus {
    if (g.status === 'revoked') return 'revoked';
    if (g.status === 'pending') return 'pending';
    return g.expires_at && new Date(g.expires_at).getTime() > this.clock.now().getTime()
      ? 'active'
      : 'expired';
  }

  private async view(g: GrantRow): Promise<GrantView> {
    return {
      id: g.id,
      lab_id: g.lab_id,
      case_id: g.case_id,
      requester_id: g.requester_id,
      requester_name: g.requester_name,
      reason: await this.phi.decryptText(g.lab_id, REASON_COLUMN, g.reason),
      access: g.access,
      status: this.statusOf(g),
      duration_minutes: g.duration_minutes,
      created_at: iso(g.created_at) as string,
      approved_at: iso(g.approved_at),
      approved_by: g.approved_by,
      expires_at: iso(g.expires_at),
      revoked_at: iso(g.revoked_at),
      revoked_by: g.revoked_by,
    };
  }

  /** POST /api/v1/emergency-access: checks, then the grant and its audit row in one transaction. */
  async request(p: Principal, token: string, b: EmergencyGrantRequestBody): Promise<GrantView> {
    if (!this.mayRequest(p)) throw EmergencyAccessError.notPermitted();
    const labId = b.lab_id.trim();
    const errors: Record<string, string> = {};
    if (!LAB_ID_PATTERN.test(labId)) errors.lab_id = 'is not a lab id';
    if (b.reason.trim() === '') errors.reason = 'is required (a justification in words)';
    const minutes = b.duration_minutes ?? this.env.EMERGENCY_ACCESS_DEFAULT_MINUTES;
    if (minutes > this.env.EMERGENCY_ACCESS_MAX_MINUTES) {
      errors.duration_minutes = `is longer than the maximum of ${this.env.EMERGENCY_ACCESS_MAX_MINUTES} minutes`;
    }
    if (Object.keys(errors).length > 0) throw EmergencyAccessError.invalid(errors);
    if (!(await this.labExists(labId, token))) throw EmergencyAccessError.labNotFound();
    if (b.case_id !== undefined && !(await this.repo.caseInLab(labId, b.case_id))) {
      throw EmergencyAccessError.caseNotFound();
    }

    const access: GrantAccess = b.access ?? 'read';
    const now = this.clock.now();
    const approval = this.env.EMERGENCY_ACCESS_APPROVAL;
    const reason = await this.phi.encryptText(labId, REASON_COLUMN, b.reason.trim());
    const row = await this.repo.withLab(labId, async (em) => {
      const g = await this.repo.insert(em, {
        lab_id: labId,
        case_id: b.case_id === undefined ? null : String(b.case_id),
        requester_id: p.userId,
        requester_name: p.username ?? p.email ?? null,
        reason,
        access,
        duration_minutes: minutes,
        status: approval ? 'pending' : 'active',
        created_at: now,
        approved_at: null,
        approved_by: null,
        expires_at: approval ? null : new Date(now.getTime() + minutes * 60_000),
      });
      await this.audit.recordChange(em, {
        labId,
        resourceType: 'EmergencyGrant',
        resourceId: g.id,
        interaction: 'create',
        changedFields: [
          { field: 'access', new: access },
          { field: 'case_id', new: g.case_id },
          { field: 'duration_minutes', new: minutes },
          { field: 'status', new: g.status },
          { field: 'reason' },
        ],
        patients: [],
      });
      return g;
    });
    this.metrics.emergencyGrantCreated(access);
    this.log.warn(
      { grant: row.id, lab: labId, requester: p.userId, access, caseScoped: row.case_id !== null },
      'emergency access granted',
    );
    void this.refreshGauge();
    return this.view(row);
  }

  /**
   * LHCMS holds data of it (cases or settings), or the UMS lists it to the
   * requester (`/api/labs`: a system admin sees every active lab).
   */
  private async labExists(labId: string, token: string): Promise<boolean> {
    if (await this.repo.labHasData(labId)) return true;
    return (await this.gateway.listedLabIds(token)).has(labId);
  }

  /**
   * GET /api/v1/emergency-access: with X-Lab-Id naming a lab the caller is an
   * admin of, that lab's grants; otherwise the caller's own grants on every lab.
   */
  async list(
    p: Principal,
    labHeader: string | undefined,
  ): Promise<{ lab_id: string | null; grants: GrantView[] }> {
    if (labHeader) {
      if (!LAB_ID_PATTERN.test(labHeader) || !this.isLabAdmin(p, labHeader)) {
        throw EmergencyAccessError.notLabAdmin();
      }
      const rows = await this.repo.listLab(labHeader);
      return { lab_id: labHeader, grants: await Promise.all(rows.map((g) => this.view(g))) };
    }
    const own = await this.repo.listRequester(p.userId);
    return { lab_id: null, grants: await Promise.all(own.map((g) => this.view(g))) };
  }

  /** A grant the caller may see: an admin of its lab (named in X-Lab-Id) or its requester. */
  private async visible(
    p: Principal,
    id: string,
    labHeader: string | undefined,
  ): Promise<GrantRow> {
    if (!UUID.test(id)) throw EmergencyAccessError.notFound();
    if (labHeader && LAB_ID_PATTERN.test(labHeader) && this.isLabAdmin(p, labHeader)) {
      const g = await this.repo.find(labHeader, id);
      if (g) return g;
    }
    const own = await this.repo.findOwn(p.userId, id);
    if (own) return own;
    throw EmergencyAccessError.notFound();
  }

  /** GET /api/v1/emergency-access/{id}: the grant and its accesses (the lab's audit rows under it). */
  async get(
    p: Principal,
    id: string,
    labHeader: string | undefined,
  ): Promise<GrantView & { accesses: GrantAccessRow[] }> {
    const g = await this.visible(p, id, labHeader);
    return { ...(await this.view(g)), accesses: await this.repo.accesses(g.lab_id, g.id) };
  }

  /** POST /api/v1/emergency-access/{id}/revoke: its lab's admins or its requester; an ended grant is 409. */
  async revoke(p: Principal, id: string, labHeader: string | undefined): Promise<GrantView> {
    const found = await this.visible(p, id, labHeader);
    const row = await this.repo.withLab(found.lab_id, async (em) => {
      const g = await this.repo.lock(em, found.lab_id, id);
      if (!g) throw EmergencyAccessError.notFound();
      const status = this.statusOf(g);
      if (status === 'revoked' || status === 'expired') throw EmergencyAccessError.ended(status);
      const updated = await this.repo.update(em, g.lab_id, g.id, {
        status: 'revoked',
        revoked_at: this.clock.now(),
        revoked_by: p.userId,
      });
      await this.audit.recordChange(em, {
        labId: g.lab_id,
        resourceType: 'EmergencyGrant',
        resourceId: g.id,
        interaction: 'update',
        changedFields: [{ field: 'status', old: status, new: 'revoked' }],
        patients: [],
      });
      return updated;
    });
    void this.refreshGauge();
    return this.view(row);
  }

  /**
   * POST /api/v1/emergency-access/{id}/approve (EMERGENCY_ACCESS_APPROVAL):
   * a second person — another platform-role user, or an admin of the lab —
   * approves a pending grant; its duration starts now.
   */
  async approve(p: Principal, id: string, labHeader: string | undefined): Promise<GrantView> {
    if (!UUID.test(id)) throw EmergencyAccessError.notFound();
    const labAdmin = !!labHeader && LAB_ID_PATTERN.test(labHeader) && this.isLabAdmin(p, labHeader);
    if (!labAdmin && !this.mayRequest(p))
      throw EmergencyAccessError.notPermitted('approve emergency access');
    // A platform-role approver names the grant's lab in X-Lab-Id too (the grant is read in that lab).
    if (!labHeader || !LAB_ID_PATTERN.test(labHeader)) throw EmergencyAccessError.notFound();
    const row = await this.repo.withLab(labHeader, async (em) => {
      const g = await this.repo.lock(em, labHeader, id);
      if (!g) throw EmergencyAccessError.notFound();
      if (g.requester_id === p.userId) {
        throw EmergencyAccessError.notPermitted('approve a grant (a second person approves)');
      }
      const status = this.statusOf(g);
      if (status !== 'pending') throw EmergencyAccessError.ended(status);
      const now = this.clock.now();
      const updated = await this.repo.update(em, g.lab_id, g.id, {
        status: 'active',
        approved_at: now,
        approved_by: p.userId,
        expires_at: new Date(now.getTime() + g.duration_minutes * 60_000),
      });
      await this.audit.recordChange(em, {
        labId: g.lab_id,
        resourceType: 'EmergencyGrant',
        resourceId: g.id,
        interaction: 'update',
        changedFields: [{ field: 'status', old: 'pending', new: 'active' }],
        patients: [],
      });
      return updated;
    });
    void this.refreshGauge();
    return this.view(row);
  }

  /**
   * The lab a request under `X-Emergency-Grant` acts in (the auth guard asks):
   * the caller's own grant on the lab of X-Lab-Id, active now, while the
   * caller still holds a platform role. Anything else is a 403.
   */
  async resolve(
    p: Principal,
    grantHeader: string | undefined,
    labHeader: string | undefined,
    request: { route: string | undefined; params: unknown },
  ): Promise<{ lab: LabMembership; access: LabAccess }> {
    if (!grantHeader || !UUID.test(grantHeader) || !labHeader || !LAB_ID_PATTERN.test(labHeader)) {
      throw EmergencyAccessError.invalidGrant();
    }
    const g = await this.repo.find(labHeader, grantHeader);
    if (!g || g.requester_id !== p.userId || !this.mayRequest(p)) {
      throw EmergencyAccessError.invalidGrant();
    }
    const status = this.statusOf(g);
    if (status === 'revoked') throw EmergencyAccessError.revoked();
    if (status === 'pending') throw EmergencyAccessError.pending();
    if (status === 'expired') throw EmergencyAccessError.expired();
    if (g.case_id !== null && !withinCase(request.route, request.params, g.case_id)) {
      throw EmergencyAccessError.scope();
    }
    return {
      lab: { labId: g.lab_id, role: GRANT_ROLE[g.access], active: true },
      access: { kind: 'emergency', grantId: g.id, access: g.access, caseId: g.case_id },
    };
  }

  /** The active-grants gauge: the deployment's count (every replica reports the same figure). */
  async refreshGauge(): Promise<void> {
    if (!this.connector.isConnected) return;
    try {
      this.metrics.setEmergencyGrantsActive(await this.repo.activeCount());
    } catch (err) {
      this.log.warn({ err: (err as Error).name }, 'could not count the active emergency grants');
    }
  }
}
