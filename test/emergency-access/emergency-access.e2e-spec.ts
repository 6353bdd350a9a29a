import { request, startStack, type Stack } from '@lhcms/testing';
import { Clock } from '../../apps/api/src/emergency-access';

const GRANTS = '/api/v1/emergency-access';
/** The messages of the refusals (the one error shape carries the HTTP status as `code`). */
const M = {
  AUTH_NOT_LAB_MEMBER: 'X-Lab-Id does not name a lab you are an active member of',
  AUTH_NO_LAB: 'User lab information not available',
  EMERGENCY_GRANT_INVALID:
    'X-Emergency-Grant does not name an emergency grant of yours on the lab of X-Lab-Id',
  EMERGENCY_GRANT_SCOPE: 'The emergency grant covers one case only; this request is outside it',
  VALIDATION_FAILED: 'Input payload validation failed',
  EMERGENCY_ACCESS_INVALID: 'Invalid emergency access request',
  EMERGENCY_LAB_NOT_FOUND: 'Lab not found',
  EMERGENCY_GRANT_REVOKED: 'The emergency grant has been revoked',
  EMERGENCY_GRANT_ENDED: 'The emergency grant is revoked',
  EMERGENCY_GRANT_EXPIRED: 'The emergency grant has expired',
  EMERGENCY_GRANT_PENDING: 'The emergency grant awaits approval',
  EMERGENCY_ACCESS_NOT_PERMITTED:
    'Only a platform role (UMS system admin or a configured role) may request emergency access',
} as const;
const FORGED = '2f1d3c4b-5a69-4788-97a6-b5c4d3e2f100';

/**
 * Emergency access (break-glass, issue 19) over HTTP with the real ums-dev:
 * no implicit access for a UMS system admin, grants and their use, the
 * conspicuous audit, the owner's view and revocation, expiry on the app's
 * clock, the compliance role's view, and every bad input.
 */
describe('emergency access (e2e)', () => {
  let s: Stack;
  let lab1: string;
  let lab2: string;
  let caseA: number;
  let caseB: number;
  const PATIENT = 'MRN-BG-19';

  const under = (grant: string, lab: string, extra: Record<string, string> = {}) => ({
    'x-emergency-grant': grant,
    'x-lab-id': lab,
    ...extra,
  });
  const grant = (user: string, body: Record<string, unknown>) =>
    s.as(user, GRANTS, { method: 'POST', body });

  beforeAll(async () => {
    s = await startStack({
      env: {
        EMERGENCY_ACCESS_ROLES: 'platform-support',
        COMPLIANCE_ROLES: 'compliance',
        EMERGENCY_ACCESS_MAX_MINUTES: '120',
      },
    });
    lab1 = String(s.labs.lab1);
    lab2 = String(s.labs.lab2);
    const mk = async () => {
      const r = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: {
          doctor_id: 'd',
          product_id: 'p',
          case_type: 'other',
          patient_info: { patient_id: PATIENT },
        },
      });
      expect(r.status).toBe(201);
      return r.body.id as number;
    };
    caseA = await mk();
    caseB = await mk();
  });
  afterAll(() => s.close());

  it('a UMS system admin without a grant is not in any lab: 403 like any non-member', async () => {
    const one = await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: { 'x-lab-id': lab1 } });
    expect(one.status).toBe(403);
    expect(one.body.message).toBe(M.AUTH_NOT_LAB_MEMBER);
    const list = await s.as('sysadmin', '/api/v1/cases/');
    expect(list.status).toBe(403);
    expect(list.body.message).toBe(M.AUTH_NO_LAB);
    expect(JSON.stringify(list.body)).not.toContain(PATIENT);
  });

  it('a read grant: 201, reaches the lab read-only, never admin-only routes, never another lab', async () => {
    const before = Date.now();
    const res = await grant('sysadmin', {
      lab_id: lab1,
      reason: 'Lab 1 reports its board is empty',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      lab_id: lab1,
      access: 'read',
      status: 'active',
      case_id: null,
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    const expires = Date.parse(res.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 60 * 60_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 60 * 60_000 + 1000);
    const id = res.body.id as string;

    const read = await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) });
    expect(read.status).toBe(200);
    expect(read.body.patient_info.patient_id).toBe(PATIENT);
    expect((await s.as('sysadmin', '/api/v1/cases/', { headers: under(id, lab1) })).status).toBe(
      200,
    );
    const write = await s.as('sysadmin', `/api/v1/cases/${caseA}`, {
      method: 'PUT',
      headers: under(id, lab1),
      body: { priority: 'high' },
    });
    expect(write.status).toBe(403);
    expect(write.body.message).toBe('Missing permission case:update');
    const audit = await s.as('sysadmin', '/api/v1/audit-events', { headers: under(id, lab1) });
    expect(audit.status).toBe(403);
    const other = await s.as('sysadmin', '/api/v1/cases/', { headers: under(id, lab2) });
    expect(other.status).toBe(403);
    expect(other.body.message).toBe(M.EMERGENCY_GRANT_INVALID);
  });

  it('a forged grant, a malformed one, another user’s, or a grant without X-Lab-Id: 403', async () => {
    const mine = (await grant('sysadmin', { lab_id: lab1, reason: 'r' })).body.id as string;
    for (const [user, headers] of [
      ['sysadmin', under(FORGED, lab1)],
      ['sysadmin', under('not-a-grant', lab1)],
      ['sysadmin', { 'x-emergency-grant': mine }],
      ['support', under(mine, lab1)],
      ['tech', under(mine, lab1)],
    ] as const) {
      const r = await s.as(user, `/api/v1/cases/${caseA}`, { headers });
      expect([user, r.status, r.body.message]).toEqual([user, 403, M.EMERGENCY_GRANT_INVALID]);
      expect(JSON.stringify(r.body)).not.toContain(PATIENT);
    }
  });

  it('a case-scoped write grant of a platform role reaches that case only', async () => {
    const res = await grant('support', {
      lab_id: lab1,
      case_id: caseA,
      reason: 'Doctor cannot see the case',
      access: 'write',
      duration_minutes: 15,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      case_id: String(caseA),
      access: 'write',
      duration_minutes: 15,
    });
    const id = res.body.id as string;
    const put = await s.as('support', `/api/v1/cases/${caseA}`, {
      method: 'PUT',
      headers: under(id, lab1),
      body: { special_instructions: 'checked by support' },
    });
    expect(put.status).toBe(200);
    expect(
      (await s.as('support', `/api/v1/cases/${caseA}/events`, { headers: under(id, lab1) })).status,
    ).toBe(200);
    for (const path of [
      `/api/v1/cases/${caseB}`,
      '/api/v1/cases/',
      '/api/v1/reports/wip-by-stage',
    ]) {
      const r = await s.as('support', path, { headers: under(id, lab1) });
      expect([path, r.status, r.body.message]).toEqual([path, 403, M.EMERGENCY_GRANT_SCOPE]);
    }
    // A member's permissions, never an admin's.
    const del = await s.as('support', `/api/v1/cases/${caseA}`, {
      method: 'DELETE',
      headers: under(id, lab1),
    });
    expect(del.status).toBe(403);
  });

  it('bad requests: each a 4xx in the one error shape, nothing stored', async () => {
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ['sysadmin', { lab_id: lab1 }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: lab1, reason: '' }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: lab1, reason: '   ' }, 400, M.EMERGENCY_ACCESS_INVALID],
      [
        'sysadmin',
        { lab_id: lab1, reason: 'r', duration_minutes: 121 },
        400,
        M.EMERGENCY_ACCESS_INVALID,
      ],
      ['sysadmin', { lab_id: lab1, reason: 'r', duration_minutes: 0 }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: lab1, reason: 'r', access: 'admin' }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: lab1, reason: 'r', case_id: 'x' }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: 'no such lab!', reason: 'r' }, 400, M.EMERGENCY_ACCESS_INVALID],
      ['sysadmin', { lab_id: Number(lab1), reason: 'r' }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: lab1, reason: 'r', role: 'admin' }, 400, M.VALIDATION_FAILED],
      ['sysadmin', { lab_id: '987654321987', reason: 'r' }, 404, M.EMERGENCY_LAB_NOT_FOUND],
      [
        'sysadmin',
        { lab_id: lab1, case_id: 2147483000, reason: 'r' },
        404,
        'Case not found in this lab',
      ],
      ['admin', { lab_id: lab1, reason: 'r' }, 403, M.EMERGENCY_ACCESS_NOT_PERMITTED],
      ['compliance', { lab_id: lab1, reason: 'r' }, 403, M.EMERGENCY_ACCESS_NOT_PERMITTED],
    ];
    const count = async () => (await s.as('sysadmin', GRANTS)).body.grants.length as number;
    const before = await count();
    for (const [user, body, status, code] of cases) {
      const r = await grant(user, body);
      expect([JSON.stringify(body), r.status, r.body.message]).toEqual([
        JSON.stringify(body),
        status,
        code,
      ]);
      expect(r.body).toMatchObject({ message: expect.any(String), request_id: expect.any(String) });
    }
    expect(await count()).toBe(before);
    expect(
      (await s.as('admin', `${GRANTS}/not-a-uuid`, { headers: { 'x-lab-id': lab1 } })).status,
    ).toBe(404);
    expect(
      (
        await s.as('admin', `${GRANTS}/${FORGED}/revoke`, {
          method: 'POST',
          body: {},
          headers: { 'x-lab-id': lab1 },
        })
      ).status,
    ).toBe(404);
    const mine = (await grant('sysadmin', { lab_id: lab1, reason: 'r' })).body.id as string;
    const extra = await s.as('sysadmin', `${GRANTS}/${mine}/revoke`, {
      method: 'POST',
      body: { status: 'active' },
    });
    expect([extra.status, extra.body.message]).toEqual([400, M.VALIDATION_FAILED]);
    const bare = await s.as('sysadmin', `${GRANTS}/${mine}/revoke`, { method: 'POST' });
    expect(bare.status).toBe(415);
    expect(
      (await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(mine, lab1) })).status,
    ).toBe(200);
  });

  it("the owner's view: the lab's admins see its grants and each grant's accesses, others do not", async () => {
    const id = (await grant('sysadmin', { lab_id: lab1, reason: 'Owner unreachable, case stuck' }))
      .body.id as string;
    expect(
      (await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) })).status,
    ).toBe(200);
    expect(
      (await s.as('sysadmin', `/api/v1/cases/${caseB}`, { headers: under(id, lab1) })).status,
    ).toBe(200);
    // A route without an audit spec of its own is on the record too under a grant.
    expect(
      (await s.as('sysadmin', '/api/v1/lab-settings', { headers: under(id, lab1) })).status,
    ).toBe(200);

    const list = await s.as('admin', GRANTS, { headers: { 'x-lab-id': lab1 } });
    expect(list.status).toBe(200);
    const mine = list.body.grants.find((g: { id: string }) => g.id === id);
    expect(mine).toMatchObject({
      requester_id: '7',
      reason: 'Owner unreachable, case stuck',
      status: 'active',
    });
    const one = await s.as('admin', `${GRANTS}/${id}`, { headers: { 'x-lab-id': lab1 } });
    expect(one.status).toBe(200);
    expect(one.body.accesses[0]).toMatchObject({
      route: '/api/v1/lab-settings',
      interaction: 'read',
    });
    const caseReads = one.body.accesses.filter(
      (a: { resource_type: string }) => a.resource_type === 'case',
    );
    expect(caseReads.map((a: { resource_id: string }) => a.resource_id).sort()).toEqual(
      [String(caseA), String(caseB)].sort(),
    );
    expect(caseReads[0]).toMatchObject({
      actor_user_id: '7',
      route: '/api/v1/cases/:id',
      outcome: 'success',
    });

    // Another lab's admin: not their lab's grant.
    expect((await s.as('lab2admin', GRANTS, { headers: { 'x-lab-id': lab1 } })).status).toBe(403);
    expect(
      (await s.as('lab2admin', `${GRANTS}/${id}`, { headers: { 'x-lab-id': lab2 } })).status,
    ).toBe(404);
    expect(
      (await s.as('viewer', `${GRANTS}/${id}`, { headers: { 'x-lab-id': lab1 } })).status,
    ).toBe(404);
    // The requester sees their own grants, on every lab.
    const own = await s.as('sysadmin', GRANTS);
    expect(own.body.grants.some((g: { id: string }) => g.id === id)).toBe(true);
    expect(
      (await s.as('support', GRANTS)).body.grants.some((g: { id: string }) => g.id === id),
    ).toBe(false);

    // The audit trail marks each access: the grant id and the role it acted with.
    const events = await s.as('admin', `/api/v1/audit-events?case_id=${caseB}&actor=7`, {
      headers: { 'x-lab-id': lab1 },
    });
    expect(events.status).toBe(200);
    expect(events.body.events[0]).toMatchObject({
      emergency_grant_id: id,
      actor_role: 'emergency_read',
    });
    const report = await s.as('admin', '/api/v1/audit-events/patient-access-report', {
      method: 'POST',
      headers: { 'x-lab-id': lab1 },
      body: { patient_id: PATIENT },
    });
    expect(report.status).toBe(200);
    expect(
      report.body.events.some((e: { emergency_grant_id: string }) => e.emergency_grant_id === id),
    ).toBe(true);
    const exported = await s.as('admin', '/api/v1/audit-events/export?actor=7', {
      headers: { 'x-lab-id': lab1 },
    });
    expect(exported.status).toBe(200);
    const fhir = exported.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const marked = fhir.filter((e) => JSON.stringify(e).includes(id) && e.purposeOfEvent);
    expect(marked.length).toBeGreaterThan(0);
    expect(JSON.stringify(marked[0].purposeOfEvent)).toContain('"BTG"');
  });

  it('revocation: by the lab admin, refused after, and a second revoke is 409', async () => {
    const id = (await grant('sysadmin', { lab_id: lab1, reason: 'r' })).body.id as string;
    expect(
      (await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) })).status,
    ).toBe(200);
    const rev = await s.as('admin', `${GRANTS}/${id}/revoke`, {
      method: 'POST',
      body: {},
      headers: { 'x-lab-id': lab1 },
    });
    expect(rev.status).toBe(200);
    expect(rev.body).toMatchObject({ status: 'revoked', revoked_by: '1' });
    const after = await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) });
    expect([after.status, after.body.message]).toEqual([403, M.EMERGENCY_GRANT_REVOKED]);
    // The refused attempt is on the grant's record, with the accesses before it.
    const view = await s.as('admin', `${GRANTS}/${id}`, { headers: { 'x-lab-id': lab1 } });
    expect(view.body.accesses.map((a: { outcome: string }) => a.outcome)).toEqual([
      'denied',
      'success',
    ]);
    const again = await s.as('sysadmin', `${GRANTS}/${id}/revoke`, { method: 'POST', body: {} });
    expect([again.status, again.body.message]).toEqual([409, M.EMERGENCY_GRANT_ENDED]);
    // The requester may end their own grant early too.
    const own = (await grant('sysadmin', { lab_id: lab1, reason: 'r' })).body.id as string;
    expect(
      (await s.as('sysadmin', `${GRANTS}/${own}/revoke`, { method: 'POST', body: {} })).status,
    ).toBe(200);
  });

  it("expiry on the app's clock: refused once the grant's time is up", async () => {
    const id = (await grant('sysadmin', { lab_id: lab1, reason: 'r', duration_minutes: 5 })).body
      .id as string;
    const clock = s.api.app.get(Clock);
    expect(
      (await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) })).status,
    ).toBe(200);
    const spy = jest.spyOn(clock, 'now').mockReturnValue(new Date(Date.now() + 5 * 60_000 + 1000));
    try {
      const late = await s.as('sysadmin', `/api/v1/cases/${caseA}`, { headers: under(id, lab1) });
      expect([late.status, late.body.message]).toEqual([403, M.EMERGENCY_GRANT_EXPIRED]);
      const view = await s.as('admin', `${GRANTS}/${id}`, { headers: { 'x-lab-id': lab1 } });
      expect(view.body.status).toBe('expired');
      const rev = await s.as('admin', `${GRANTS}/${id}/revoke`, {
        method: 'POST',
        body: {},
        headers: { 'x-lab-id': lab1 },
      });
      expect(rev.status).toBe(409);
    } finally {
      spy.mockRestore();
    }
  });

  it('the compliance role: audit review, export and patient report of any lab, audited; no case PHI', async () => {
    const h = { 'x-lab-id': lab1 };
    expect((await s.as('compliance', '/api/v1/audit-events', { headers: h })).status).toBe(200);
    expect(
      (await s.as('compliance', '/api/v1/audit-events?limit=5', { headers: { 'x-lab-id': lab2 } }))
        .status,
    ).toBe(200);
    expect(
      (await s.as('compliance', '/api/v1/audit-events/export?limit=5', { headers: h })).status,
    ).toBe(200);
    const report = await s.as('compliance', '/api/v1/audit-events/patient-access-report', {
      method: 'POST',
      headers: h,
      body: { patient_id: PATIENT },
    });
    expect(report.status).toBe(200);
    expect(report.body.events.length).toBeGreaterThan(0);
    for (const path of [
      `/api/v1/cases/${caseA}`,
      '/api/v1/cases/',
      `/api/v1/cases/${caseA}/notes`,
    ]) {
      const r = await s.as('compliance', path, { headers: h });
      expect([path, r.status]).toEqual([path, 403]);
      expect(JSON.stringify(r.body)).not.toContain(PATIENT);
    }
    // No lab named: nothing to review.
    expect((await s.as('compliance', '/api/v1/audit-events')).status).toBe(403);
    // The compliance officer's own reviews are on the lab's trail.
    const seen = await s.as('admin', '/api/v1/audit-events?actor=10&interaction=search', {
      headers: h,
    });
    const reviews = seen.body.events.filter(
      (e: { route: string; outcome: string }) =>
        e.route === '/api/v1/audit-events' && e.outcome === 'success',
    );
    expect(reviews.length).toBeGreaterThan(0);
    expect(reviews[0]).toMatchObject({ actor_role: 'compliance', lab_id: lab1 });
  });

  it('metrics: a counter of grants created and a gauge of active grants', async () => {
    await grant('sysadmin', { lab_id: lab1, reason: 'r', access: 'write' });
    const m = (await request(s.api.url, '/metrics')).text;
    const value = (prefix: string) =>
      Number(
        m
          .split('\n')
          .find((l) => l.startsWith(prefix))
          ?.split(' ')
          .pop() ?? NaN,
      );
    expect(value('lhcms_emergency_grants_total{access="read"}')).toBeGreaterThanOrEqual(4);
    expect(value('lhcms_emergency_grants_total{access="write"}')).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 200)); // the gauge is refreshed just after the grant
    const active = Number(
      (await request(s.api.url, '/metrics')).text
        .split('\n')
        .find((l) => l.startsWith('lhcms_emergency_grants_active '))
        ?.split(' ')
        .pop(),
    );
    expect(active).toBeGreaterThanOrEqual(1);
  });
});

describe('emergency access with second-person approval (e2e)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ env: { EMERGENCY_ACCESS_APPROVAL: 'true' } });
  });
  afterAll(() => s.close());

  it('a grant is pending until another person approves; its duration starts then', async () => {
    const lab1 = String(s.labs.lab1);
    const res = await s.as('sysadmin', GRANTS, {
      method: 'POST',
      body: { lab_id: lab1, reason: 'r' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending', expires_at: null });
    const id = res.body.id as string;
    const use = () => s.as('sysadmin', '/api/v1/cases/', { headers: under(id, lab1) });
    expect((await use()).body.message).toBe(M.EMERGENCY_GRANT_PENDING);
    const self = await s.as('sysadmin', `${GRANTS}/${id}/approve`, {
      method: 'POST',
      body: {},
      headers: { 'x-lab-id': lab1 },
    });
    expect(self.status).toBe(403);
    expect(self.body.message).toMatch(/a second person approves/);
    const tech = await s.as('tech', `${GRANTS}/${id}/approve`, {
      method: 'POST',
      body: {},
      headers: { 'x-lab-id': lab1 },
    });
    expect(tech.status).toBe(403);
    const ok = await s.as('admin', `${GRANTS}/${id}/approve`, {
      method: 'POST',
      body: {},
      headers: { 'x-lab-id': lab1 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'active', approved_by: '1' });
    expect((await use()).status).toBe(200);
    const again = await s.as('admin', `${GRANTS}/${id}/approve`, {
      method: 'POST',
      body: {},
      headers: { 'x-lab-id': lab1 },
    });
    expect(again.status).toBe(409);
  });

  function under(grant: string, lab: string) {
    return { 'x-emergency-grant': grant, 'x-lab-id': lab };
  }
});
