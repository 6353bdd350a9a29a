import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector } from '@lhcms/database';
import type { Principal } from '@lhcms/request-context';
import { loginSeedUser, startTestUms, testDatabaseUrls, testEnv } from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { AppModule } from '../../apps/api/src/app.module';
import { type CaseActor, CasesService } from '../../apps/api/src/cases/cases.service';
import {
  Clock,
  EmergencyAccessErrorCode as E,
  EmergencyAccessService,
} from '../../apps/api/src/emergency-access';

/** A clock the test moves: grants expire without waiting. */
class ManualClock extends Clock {
  t = new Date('2026-12-07T10:00:00.000Z');
  override now(): Date {
    return new Date(this.t);
  }
  advance(minutes: number): void {
    this.t = new Date(this.t.getTime() + minutes * 60_000);
  }
}

/**
 * Service tier: the emergency-access use cases on the real wiring (AppModule,
 * PostgreSQL with row-level security, encryption, audit) and a real ums-dev
 * for the lab check, called directly with a controllable clock.
 */
describe('EmergencyAccessService (service tier)', () => {
  let mod: TestingModule;
  let ums: UmsDevServer;
  let grants: EmergencyAccessService;
  let owner: Client;
  let token: string;
  let caseId: string;
  const clock = new ManualClock();
  const labId = `bg${randomInt(1e9)}`;
  const otherLab = `bg${randomInt(1e9)}x`;
  const sysadmin: Principal = {
    userId: '7',
    username: 'sysadmin',
    isSystemAdmin: true,
    platformRoles: [],
    memberships: [],
    expiresAt: 4_000_000_000,
  };
  const support: Principal = {
    ...sysadmin,
    userId: '9',
    isSystemAdmin: false,
    platformRoles: ['platform-support'],
  };
  const nobody: Principal = { ...sysadmin, userId: '6', isSystemAdmin: false };
  const route = (id: string | undefined) => ({
    route: id ? '/api/v1/cases/:id' : '/api/v1/cases/',
    params: id ? { id } : {},
  });
  const codeOf = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => 'resolved',
      (e: { code?: unknown }) => e.code,
    );

  beforeAll(async () => {
    ums = await startTestUms();
    mod = await Test.createTestingModule({
      imports: [
        AppModule.forRoot(
          testEnv({
            UMS_BASE_URL: ums.url,
            EMERGENCY_ACCESS_ROLES: 'platform-support',
            EMERGENCY_ACCESS_MAX_MINUTES: '120',
          }),
        ),
      ],
    })
      .overrideProvider(Clock)
      .useValue(clock)
      .compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    grants = mod.get(EmergencyAccessService);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
    token = await loginSeedUser(ums.url, 'sysadmin');
    const actor: CaseActor = {
      userId: '1',
      labId,
      labCode: 'BG',
      token: 'unused',
      canReopen: false,
    };
    const { case: c } = await mod
      .get(CasesService)
      .create(actor, { doctor_id: 'd', product_id: 'p', case_type: 'denture' });
    caseId = String(c.id);
  });

  afterAll(async () => {
    await owner?.end();
    await mod?.close();
    await ums?.close();
  });

  it('creates a grant at once: active, the default hour, the reason encrypted, an audit row in the lab', async () => {
    const g = await grants.request(sysadmin, token, {
      lab_id: labId,
      reason: 'Lab reports a broken case board',
    });
    expect(g).toMatchObject({
      lab_id: labId,
      status: 'active',
      access: 'read',
      duration_minutes: 60,
    });
    expect(g.expires_at).toBe('2026-12-07T11:00:00.000Z');
    expect(g.reason).toBe('Lab reports a broken case board');
    const stored = await owner.query<{ reason: string }>(
      `SELECT reason FROM emergency_grants WHERE id = $1`,
      [g.id],
    );
    expect(stored.rows[0].reason).not.toContain('broken');
    const audit = await owner.query(
      `SELECT actor_user_id, interaction FROM audit_events WHERE lab_id = $1 AND resource_type = 'EmergencyGrant' AND resource_id = $2`,
      [labId, g.id],
    );
    expect(audit.rows).toEqual([{ actor_user_id: null, interaction: 'create' }]);
  });

  it('a grant acts with a viewer (read) or member (write) role, for its requester on its lab only', async () => {
    const read = await grants.request(sysadmin, token, { lab_id: labId, reason: 'r' });
    const ok = await grants.resolve(sysadmin, read.id, labId, route(undefined));
    expect(ok.lab).toEqual({ labId, role: 'viewer', active: true });
    expect(ok.access).toEqual({
      kind: 'emergency',
      grantId: read.id,
      access: 'read',
      caseId: null,
    });
    expect(await codeOf(grants.resolve(support, read.id, labId, route(undefined)))).toBe(
      E.GrantInvalid,
    );
    expect(await codeOf(grants.resolve(sysadmin, read.id, otherLab, route(undefined)))).toBe(
      E.GrantInvalid,
    );
    expect(await codeOf(grants.resolve(sysadmin, 'not-a-uuid', labId, route(undefined)))).toBe(
      E.GrantInvalid,
    );
    const write = await grants.request(support, token, {
      lab_id: labId,
      case_id: Number(caseId),
      reason: 'fix one case',
      access: 'write',
    });
    expect((await grants.resolve(support, write.id, labId, route(caseId))).lab.role).toBe('member');
    expect(await codeOf(grants.resolve(support, write.id, labId, route(undefined)))).toBe(
      E.GrantScope,
    );
    expect(
      await codeOf(grants.resolve(support, write.id, labId, route(`${Number(caseId) + 1}`))),
    ).toBe(E.GrantScope);
  });

  it('expires with the clock: refused after, and revoking it then is 409', async () => {
    const g = await grants.request(sysadmin, token, {
      lab_id: labId,
      reason: 'r',
      duration_minutes: 30,
    });
    clock.advance(29);
    await expect(grants.resolve(sysadmin, g.id, labId, route(undefined))).resolves.toBeDefined();
    clock.advance(1);
    expect(await codeOf(grants.resolve(sysadmin, g.id, labId, route(undefined)))).toBe(
      E.GrantExpired,
    );
    expect(await codeOf(grants.revoke(sysadmin, g.id, undefined))).toBe(E.GrantEnded);
  });

  it('two revokes at once: exactly one wins, the other is 409; the grant is refused after', async () => {
    const g = await grants.request(sysadmin, token, { lab_id: labId, reason: 'r' });
    const results = await Promise.all([
      codeOf(grants.revoke(sysadmin, g.id, undefined)),
      codeOf(grants.revoke(sysadmin, g.id, undefined)),
    ]);
    expect(results.sort()).toEqual([E.GrantEnded, 'resolved'].sort());
    expect(await codeOf(grants.resolve(sysadmin, g.id, labId, route(undefined)))).toBe(
      E.GrantRevoked,
    );
  });

  it('refuses: no platform role, no reason, too long, a lab nobody knows', async () => {
    expect(await codeOf(grants.request(nobody, token, { lab_id: labId, reason: 'r' }))).toBe(
      E.NotPermitted,
    );
    expect(await codeOf(grants.request(sysadmin, token, { lab_id: labId, reason: '  ' }))).toBe(
      E.InvalidRequest,
    );
    expect(
      await codeOf(
        grants.request(sysadmin, token, { lab_id: labId, reason: 'r', duration_minutes: 121 }),
      ),
    ).toBe(E.InvalidRequest);
    expect(await codeOf(grants.request(sysadmin, token, { lab_id: otherLab, reason: 'r' }))).toBe(
      E.LabNotFound,
    );
    const n = await owner.query(
      `SELECT count(*)::int AS n FROM emergency_grants WHERE lab_id = $1`,
      [otherLab],
    );
    expect(n.rows[0].n).toBe(0);
  });
});
