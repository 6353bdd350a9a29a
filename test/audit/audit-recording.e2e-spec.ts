import { randomUUID } from 'node:crypto';
import { deriveKey, patientRef } from '@lhcms/crypto';
import { request, startStack, TEST_SECRET_KEY, type Stack } from '@lhcms/testing';
import type { Client } from 'pg';
import { superuserClient } from './audit-test-helpers';

/**
 * Every case endpoint × outcome writes exactly the expected audit row, with
 * no PHI, durably before the response (the tests read the row right after
 * the response, on another connection).
 */
const MARKER = 'PHI-MARKER-Zelda-Quixote-7731';
const PATIENT_ID = `PT-${MARKER}`;

const phiCase = (over: Record<string, unknown> = {}) => ({
  doctor_id: 'doc-audit',
  product_id: 'prod-audit',
  case_type: 'fixed_prosthetic',
  case_name: `Crown for ${MARKER}`,
  description: `desc ${MARKER}`,
  special_instructions: `instr ${MARKER}`,
  patient_info: { patient_id: PATIENT_ID, medical_history: MARKER, age: 40 },
  fixed_prosthetic: {
    type: 'crown',
    material: 'zirconia',
    tooth_numbers: [8],
    shade: { shade_system: 'vita_classical', shade_value: 'A2' },
    notes: MARKER,
  },
  ...over,
});

describe('audit trail: what each request records (e2e)', () => {
  let s: Stack;
  let db: Client;
  let caseId: number;
  let lab1: string;
  const ref = (lab: string, pid: string) =>
    patientRef(deriveKey(TEST_SECRET_KEY, 'patient-ref'), lab, pid);

  /** The audit rows of one request (by its X-Request-Id), read as the superuser. */
  const rowsOf = async (rid: string) =>
    (await db.query(`SELECT * FROM audit_events WHERE request_id = $1 ORDER BY seq`, [rid])).rows;

  /** A request as a seed user (or anonymous), with a fresh request id; returns the response and its audit rows. */
  async function call(
    user: string | null,
    path: string,
    o: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const rid = `audit-test-${randomUUID()}`;
    const headers = { 'x-request-id': rid, 'user-agent': 'audit-e2e/1.0', ...(o.headers ?? {}) };
    const res = user
      ? await s.as(user, path, { ...o, headers })
      : await request(s.api.url, path, { ...o, headers });
    return { res, rows: await rowsOf(rid), rid };
  }

  beforeAll(async () => {
    s = await startStack();
    lab1 = String(s.labs.lab1);
    db = await superuserClient();

    caseId = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase() })).body.id;
  });
  afterAll(async () => {
    await db.end();
    await s.close();
  });

  it('POST 201: one create row in the same transaction, names only for PHI fields', async () => {
    const { res, rows, rid } = await call('admin', '/api/v1/cases/', {
      method: 'POST',
      body: phiCase({ priority: 'high' }),
    });
    expect(res.status).toBe(201);
    expect(rows).toHaveLength(1);
    const r = rows[0];
    expect(r).toMatchObject({
      lab_id: lab1,
      actor_user_id: '1',
      actor_type: 'user',
      actor_role: 'admin',
      source_ip: '127.0.0.1',
      user_agent: 'audit-e2e/1.0',
      request_id: rid,
      event_type: 'rest',
      action: 'C',
      interaction: 'create',
      resource_type: 'case',
      resource_id: String(res.body.id),
      patient_ref: ref(lab1, PATIENT_ID),
      outcome: 'success',
      http_status: 201,
      http_method: 'POST',
      route: '/api/v1/cases',
    });
    expect(r.changed_fields).toEqual(
      expect.arrayContaining([
        { field: 'patient_info' },
        { field: 'case_name' },
        { field: 'description' },
        { field: 'special_instructions' },
        { field: 'fixed_prosthetic' },
        { field: 'priority', new: 'high' },
        { field: 'status', new: 'pending' },
        { field: 'doctor_id', new: 'doc-audit' },
      ]),
    );
    expect(r.occurred_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(typeof r.seq).toBe('string');
  });

  it('GET one 200: a read row with the case and its patient ref', async () => {
    const { res, rows } = await call('viewer', `/api/v1/cases/${caseId}`);
    expect(res.status).toBe(200);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_user_id: '3',
      actor_role: 'viewer',
      action: 'R',
      interaction: 'read',
      resource_type: 'case',
      resource_id: String(caseId),
      patient_ref: ref(lab1, PATIENT_ID),
      subject_count: 1,
      outcome: 'success',
      http_status: 200,
      route: '/api/v1/cases/:id',
    });
  });

  it('GET list 200: a search row with filters, count, every case and patient disclosed', async () => {
    const { res, rows } = await call('admin', '/api/v1/cases/?doctor_id=doc-audit&per_page=50');
    expect(res.status).toBe(200);
    expect(rows).toHaveLength(1);
    const ids = res.body.cases.map((c: any) => String(c.id));
    expect(rows[0]).toMatchObject({
      action: 'E',
      interaction: 'search',
      resource_type: 'case',
      resource_id: null,
      subject_count: ids.length,
      query: { doctor_id: 'doc-audit', per_page: '50' },
      outcome: 'success',
      http_status: 200,
    });
    expect(rows[0].entity_ids).toEqual(ids);
    expect(rows[0].patient_refs).toEqual([ref(lab1, PATIENT_ID)]);
  });

  it('reads after a patient change disclose the new patient (refs are memoised per case version)', async () => {
    const body = phiCase({ doctor_id: 'doc-memo', patient_info: { patient_id: 'PT-memo-1' } });
    const id = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body })).body.id;
    const list = '/api/v1/cases/?doctor_id=doc-memo';
    for (let i = 0; i < 2; i++) {
      expect((await call('admin', list)).rows[0].patient_refs).toEqual([ref(lab1, 'PT-memo-1')]);
    }
    const put = await s.as('admin', `/api/v1/cases/${id}`, {
      method: 'PUT',
      body: { patient_info: { patient_id: 'PT-memo-2' } },
    });
    expect(put.status).toBe(200);
    expect((await call('admin', list)).rows[0].patient_refs).toEqual([ref(lab1, 'PT-memo-2')]);
    expect((await call('admin', `/api/v1/cases/${id}`)).rows[0].patient_ref).toBe(
      ref(lab1, 'PT-memo-2'),
    );
  });

  it('PUT 200: old/new for non-PHI fields, the name only for PHI fields', async () => {
    const { res, rows } = await call('tech', `/api/v1/cases/${caseId}`, {
      method: 'PUT',
      body: { priority: 'low', case_name: `renamed ${MARKER}`, patient_info: null },
    });
    expect(res.status).toBe(200);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_user_id: '2',
      actor_role: 'member',
      action: 'U',
      interaction: 'update',
      resource_id: String(caseId),
      patient_ref: ref(lab1, PATIENT_ID),
      outcome: 'success',
      http_status: 200,
    });
    expect(rows[0].changed_fields).toEqual([
      { field: 'case_name' },
      { field: 'patient_info' },
      { field: 'priority', old: 'medium', new: 'low' },
    ]);
  });

  it('PATCH status 200: a status_change row with the transition', async () => {
    const { res, rows } = await call('tech', `/api/v1/cases/${caseId}/status`, {
      method: 'PATCH',
      body: { status: 'in_progress' },
    });
    expect(res.status).toBe(200);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'U',
      interaction: 'status_change',
      resource_id: String(caseId),
      // Entering production also starts the case at the lab's first stage.
      changed_fields: [
        { field: 'stage', old: null, new: 'received' },
        { field: 'status', old: 'pending', new: 'in_progress' },
      ],
      outcome: 'success',
      http_status: 200,
    });
  });

  it('DELETE 204 by an admin and 403 for a member', async () => {
    const id = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase() })).body.id;
    const denied = await call('tech', `/api/v1/cases/${id}`, { method: 'DELETE' });
    expect(denied.res.status).toBe(403);
    expect(denied.rows).toHaveLength(1);
    expect(denied.rows[0]).toMatchObject({
      actor_user_id: '2',
      action: 'D',
      interaction: 'delete',
      resource_id: String(id),
      outcome: 'denied',
      outcome_detail: 'AUTH_MISSING_PERMISSION',
      http_status: 403,
      lab_id: lab1,
    });
    const ok = await call('admin', `/api/v1/cases/${id}`, { method: 'DELETE' });
    expect(ok.res.status).toBe(204);
    expect(ok.rows).toHaveLength(1);
    expect(ok.rows[0]).toMatchObject({
      action: 'D',
      interaction: 'delete',
      resource_id: String(id),
      patient_ref: ref(lab1, PATIENT_ID),
      outcome: 'success',
      http_status: 204,
    });
  });

  it.each([
    ['GET', (id: number) => `/api/v1/cases/${id}`, undefined, 'read'],
    ['PUT', (id: number) => `/api/v1/cases/${id}`, { case_name: 'x' }, 'update'],
    ['PATCH', (id: number) => `/api/v1/cases/${id}/status`, { status: 'on_hold' }, 'status_change'],
    ['DELETE', (id: number) => `/api/v1/cases/${id}`, undefined, 'delete'],
  ])(
    '%s on a foreign case: 404 on record in the caller lab, and an attempt in the owning lab',
    async (method, path, body, interaction) => {
      const { res, rows } = await call('lab2admin', path(caseId), { method, body });
      expect(res.status).toBe(404);
      expect(rows).toHaveLength(2);
      const [caller, owner] = [String(s.labs.lab2), lab1].map((l) =>
        rows.find((r) => r.lab_id === l),
      );
      expect(owner).toMatchObject({
        actor_user_id: '4',
        event_type: 'security',
        interaction,
        resource_id: String(caseId),
        query: { actor_lab_id: String(s.labs.lab2) },
        outcome: 'denied',
        outcome_detail: 'CROSS_LAB_ATTEMPT',
        http_status: 404,
        patient_ref: null,
      });
      expect(caller).toMatchObject({
        actor_user_id: '4',
        lab_id: String(s.labs.lab2),
        interaction,
        resource_id: String(caseId),
        outcome: 'error',
        outcome_detail: 'CASE_NOT_FOUND',
        http_status: 404,
        patient_ref: null,
      });
    },
  );

  it('401 without a token, and with a bad one: anonymous denied rows', async () => {
    for (const headers of [{}, { authorization: 'Bearer not.a.token' }] as Array<
      Record<string, string>
    >) {
      const { res, rows } = await call(null, `/api/v1/cases/${caseId}`, { headers });
      expect(res.status).toBe(401);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        actor_type: 'anonymous',
        actor_user_id: null,
        lab_id: null,
        interaction: 'read',
        resource_id: String(caseId),
        outcome: 'denied',
        http_status: 401,
      });
    }
  });

  it('403 for a lab the caller is not a member of: recorded in that lab', async () => {
    const { res, rows } = await call('admin', '/api/v1/cases/', {
      headers: { 'x-lab-id': String(s.labs.lab2) },
    });
    expect(res.status).toBe(403);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor_user_id: '1',
      lab_id: String(s.labs.lab2),
      interaction: 'search',
      outcome: 'denied',
      outcome_detail: 'AUTH_NOT_LAB_MEMBER',
      http_status: 403,
    });
    const nolab = await call('nolab', '/api/v1/cases/');
    expect(nolab.res.status).toBe(403);
    expect(nolab.rows).toHaveLength(1);
    expect(nolab.rows[0]).toMatchObject({ lab_id: null, outcome: 'denied', http_status: 403 });
  });

  it('400 validation failure on a write: on record, nothing created, no PHI', async () => {
    const { res, rows } = await call('admin', '/api/v1/cases/', {
      method: 'POST',
      body: phiCase({ case_type: 'bogus', due_date: 'nope' }),
    });
    expect(res.status).toBe(400);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      interaction: 'create',
      outcome: 'error',
      outcome_detail: 'VALIDATION_FAILED',
      http_status: 400,
      changed_fields: null,
    });
    const bad = await call('admin', '/api/v1/cases/?status=shipped');
    expect(bad.res.status).toBe(400);
    expect(bad.rows[0]).toMatchObject({
      interaction: 'search',
      query: { status: 'shipped' },
      outcome_detail: 'CASE_INVALID_QUERY',
    });
    const malformed = await call('admin', '/api/v1/cases/', {
      method: 'POST',
      body: '{"patient_info": {"patient_id": "' + MARKER,
    });
    expect(malformed.res.status).toBe(400);
    expect(malformed.rows).toHaveLength(1);
    expect(malformed.rows[0]).toMatchObject({ interaction: 'create', http_status: 400 });
  });

  it('a value the database cannot store is 400 and on record (stored with U+FFFD), and fails no other request', async () => {
    // Before: the NUL reached the audit batch INSERT, which failed, and every request sharing
    // that batch was answered 503.
    const others = Array.from({ length: 8 }, () => call('admin', `/api/v1/cases/${caseId}`));
    const nul = call('admin', '/api/v1/cases/?doctor_id=a%00b');
    const lone = call('admin', '/api/v1/cases/', {
      method: 'POST',
      body: phiCase({ case_name: 'x\ud800' }),
    });
    const done = await Promise.all([...others, nul, lone]);
    for (const o of done.slice(0, 8)) expect(o.res.status).toBe(200);
    const [n, l] = done.slice(8);
    expect(n.res.status).toBe(400);
    expect(n.rows).toHaveLength(1);
    expect(n.rows[0]).toMatchObject({
      interaction: 'search',
      outcome: 'error',
      outcome_detail: 'VALIDATION_FAILED',
      query: { doctor_id: 'a\uFFFDb' },
    });
    expect(l.res.status).toBe(400);
    expect(l.rows).toEqual([
      expect.objectContaining({ interaction: 'create', http_status: 400, changed_fields: null }),
    ]);
  });

  it('doctor-info: the directory read is on record (501 without a directory)', async () => {
    const { res, rows } = await call('admin', '/api/v1/cases/doctor-info/doc-9');
    expect(res.status).toBe(501);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      resource_type: 'doctor',
      resource_id: 'doc-9',
      interaction: 'read',
      outcome: 'error',
      http_status: 501,
      outcome_detail: 'CASE_DIRECTORY_NOT_CONFIGURED',
    });
  });

  it('public reference data and unknown routes are not audited', async () => {
    expect((await call(null, '/api/v1/cases/types')).rows).toHaveLength(0);
    expect((await call('admin', '/api/v1/nothing-here')).rows).toHaveLength(0);
  });

  it('the PHI marker appears in no audit row of the lab', async () => {
    const all = await db.query(`SELECT to_jsonb(a)::text AS j FROM audit_events a`);
    expect(all.rows.length).toBeGreaterThan(10);
    for (const r of all.rows) expect(r.j).not.toContain(MARKER);
  });
});
