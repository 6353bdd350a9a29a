import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { request, startStack, testDatabaseUrls, type Stack } from '@lhcms/testing';
import { Client } from 'pg';

/** SHA-256 of the reference data the original Flask LHCMS served, as it served it. */
const ORIGINAL_SHA256: Record<string, string> = {
  materials: '26ea88abe6c4402b8ff7cd4c08d69d273d1d6827e789d3f284213de7119ca83e',
  shades: '24594b998efef4a5bae5d9fc97f4f8c109f956adce1619552e3c3bc4faa7904e',
  types: '392c72ae5fd3c39ac7820054941239e77c17a94b92d5fde1cbd93136f93a3169',
};
const referenceFile = (name: string) => {
  const bytes = fs.readFileSync(
    path.resolve(__dirname, '../../apps/api/src/cases/reference-data', `${name}.json`),
  );
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(ORIGINAL_SHA256[name]);
  return JSON.parse(bytes.toString('utf8'));
};

const fixedCase = (over: Record<string, unknown> = {}) => ({
  doctor_id: 'doc-100',
  product_id: 'prod-7',
  case_type: 'fixed_prosthetic',
  case_name: 'Crown #8',
  priority: 'high',
  patient_info: { patient_id: 'PT-0001', age: 52, gender: 'female', medical_history: 'none' },
  due_date: '2026-12-15',
  rush_order: true,
  special_instructions: 'Match adjacent tooth',
  fixed_prosthetic: {
    type: 'crown',
    material: 'zirconia',
    tooth_numbers: [8],
    shade: { shade_system: 'vita_classical', shade_value: 'A2' },
  },
  ...over,
});

const ORIGINAL_KEYS = [
  'id',
  'doctor_id',
  'product_id',
  'lab_id',
  'case_name',
  'description',
  'priority',
  'status',
  'assigned_to',
  'patient_info',
  'dental_details',
  'due_date',
  'rush_order',
  'special_instructions',
  'case_type',
  'created_at',
  'updated_at',
];

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function expectErrorShape(body: any, status: number): void {
  expect(body).toEqual(
    expect.objectContaining({
      error: expect.any(String),
      message: expect.any(String),
      code: status,
      timestamp: expect.stringMatching(/Z$/),
      request_id: expect.any(String),
    }),
  );
  expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(js|ts):\d+|SELECT |INSERT |QueryFailedError/);
}

describe('Cases API v1 (e2e: real ums-dev, real PostgreSQL)', () => {
  let s: Stack;
  const create = (body: unknown, user = 'admin') =>
    s.as(user, '/api/v1/cases/', { method: 'POST', body });

  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  describe('create and read', () => {
    it('POST creates a pending case in the caller lab and returns it in wire shape (201)', async () => {
      const res = await create(fixedCase());
      expect(res.status).toBe(201);
      const c = res.body;
      expect(Object.keys(c).slice(0, ORIGINAL_KEYS.length)).toEqual(ORIGINAL_KEYS);
      expect(c).toMatchObject({
        doctor_id: 'doc-100',
        product_id: 'prod-7',
        lab_id: String(s.labs.lab1),
        status: 'pending',
        priority: 'high',
        due_date: '2026-12-15',
        rush_order: true,
        case_type: 'fixed_prosthetic',
        denture: null,
        night_guard: null,
        implant: null,
      });
      expect(typeof c.lab_id).toBe('string');
      expect(c.created_at).toMatch(ISO_Z);
      expect(c.updated_at).toMatch(ISO_Z);
      // Dental details are returned (the original stored but never returned them).
      expect(c.fixed_prosthetic).toEqual(fixedCase().fixed_prosthetic);
      expect(c.dental_details).toEqual(c.fixed_prosthetic);
      // shade_id is optional.
      expect(c.fixed_prosthetic.shade).not.toHaveProperty('shade_id');
    });

    it('applies defaults and ignores fields a client may not set', async () => {
      const res = await create({
        doctor_id: 'doc-1',
        product_id: 'p',
        case_type: 'other',
        status: 'completed',
        lab_id: '999',
        id: 123456,
        created_at: '2000-01-01T00:00:00Z',
        patient_name: 'ignored',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        status: 'pending',
        priority: 'medium',
        rush_order: false,
        lab_id: String(s.labs.lab1),
      });
      expect(res.body.id).not.toBe(123456);
      expect(res.body.created_at.startsWith('2000')).toBe(false);
      expect(res.body).not.toHaveProperty('patient_name');
      expect(res.body.dental_details).toBeNull();
    });

    it('keeps unknown keys inside patient_info and prescription objects, as the original did', async () => {
      const res = await create(fixedCase({ patient_info: { patient_id: 'X', first_name: 'Ana' } }));
      expect(res.body.patient_info).toEqual({ patient_id: 'X', first_name: 'Ana' });
    });

    it('GET returns the case; dental_details follows case_type', async () => {
      const created = (
        await create({
          doctor_id: 'd',
          product_id: 'p',
          case_type: 'implant',
          implant: {
            implant_system: 'straumann',
            implant_diameter: '4.1mm',
            implant_length: '10mm',
            tooth_number: 19,
          },
          night_guard: {
            type: 'hard_guard',
            material: 'hard_acrylic',
            arch: 'upper',
            special_features: ['not_a_feature'],
          },
        })
      ).body;
      const res = await s.as('viewer', `/api/v1/cases/${created.id}`);
      expect(res.status).toBe(200);
      expect(res.body.dental_details).toEqual(created.implant);
      expect(res.body.night_guard.special_features).toEqual(['not_a_feature']);
    });

    it('{id} must be a positive integer: anything else is 404', async () => {
      for (const id of ['abc', '-1', '0', '1.5', '99999999999', '2147483648']) {
        const res = await s.as('admin', `/api/v1/cases/${id}`);
        expect(res.status).toBe(404);
        expectErrorShape(res.body, 404);
      }
      const missing = await s.as('admin', '/api/v1/cases/2147483647');
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe('Case not found');
    });
  });

  describe('validation: 400 with every failing field as a dotted path', () => {
    it('reports nested and array paths at once', async () => {
      const res = await create({
        product_id: 1,
        case_type: 'bridge',
        priority: 'urgent',
        fixed_prosthetic: {
          type: 'crown',
          material: 'wood',
          tooth_numbers: [8, 'nine'],
          shade: { shade_value: 'A1' },
        },
        patient_info: { age: '35', gender: 'x' },
      });
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(res.body.message).toBe('Input payload validation failed');
      expect(Object.keys(res.body.errors).sort()).toEqual(
        [
          'case_type',
          'doctor_id',
          'fixed_prosthetic.material',
          'fixed_prosthetic.shade.shade_system',
          'fixed_prosthetic.tooth_numbers.1',
          'patient_info.age',
          'patient_info.gender',
          'priority',
          'product_id',
        ].sort(),
      );
      expect(res.body.errors.doctor_id).toBe("'doctor_id' is a required property");
    });

    it('an unparseable due_date is 400 (the original silently stored null)', async () => {
      const res = await create(fixedCase({ due_date: '11/19/2025' }));
      expect(res.status).toBe(400);
      expect(res.body.errors.due_date).toMatch(/is not a 'date'/);
    });

    it('null is rejected on create for typed fields; a root that is not an object is 400', async () => {
      expect((await create(fixedCase({ case_name: null }))).status).toBe(400);
      const arr = await create([1, 2]);
      expect(arr.status).toBe(400);
      expect(arr.body.errors).toHaveProperty('');
    });

    it('over-long strings are 400, never a database error', async () => {
      const res = await create(fixedCase({ doctor_id: 'd'.repeat(51) }));
      expect(res.status).toBe(400);
      expect(res.body.errors.doctor_id).toMatch(/too long/);
    });

    it('text the database cannot store (NUL, unpaired surrogates) is 400 by path, and nothing is written', async () => {
      const before = (await s.as('admin', '/api/v1/cases/?per_page=1')).body.pagination.total;
      const nul = await create(fixedCase({ case_name: 'Crown\u0000#8' }));
      expect(nul.status).toBe(400);
      expectErrorShape(nul.body, 400);
      expect(nul.body.errors).toEqual({ case_name: expect.stringMatching(/NUL/) });
      const lone = await create(
        fixedCase({ patient_info: { patient_id: 'PT-\ud800', age: 3 }, description: '\udc00' }),
      );
      expect(lone.status).toBe(400);
      expect(Object.keys(lone.body.errors).sort()).toEqual([
        'description',
        'patient_info.patient_id',
      ]);
      expect((await s.as('admin', '/api/v1/cases/?per_page=1')).body.pagination.total).toBe(before);

      const id = (await create(fixedCase())).body.id;
      const put = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { special_instructions: 'x\u0000' },
      });
      expect(put.status).toBe(400);
      expect((await s.as('admin', `/api/v1/cases/${id}`)).body.special_instructions).toBe(
        'Match adjacent tooth',
      );
      // In the query string too: was a 500 (the database refused the parameter).
      const q = await s.as('admin', '/api/v1/cases/?doctor_id=a%00b');
      expect(q.status).toBe(400);
      expectErrorShape(q.body, 400);
      expect(q.body.errors).toEqual({ doctor_id: expect.any(String) });
    });
  });

  describe('PUT (partial update) and PATCH status', () => {
    let id: number;
    beforeEach(async () => {
      id = (await create(fixedCase())).body.id;
    });

    it('changes only the fields sent; objects are replaced wholesale', async () => {
      const res = await s.as('tech', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: {
          case_name: 'Renamed',
          patient_info: { patient_id: 'PT-2' },
          denture: { type: 'immediate', material: 'acrylic_resin' },
        },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        case_name: 'Renamed',
        priority: 'high',
        patient_info: { patient_id: 'PT-2' },
      });
      expect(res.body.denture).toEqual({ type: 'immediate', material: 'acrylic_resin' });
      expect(res.body.fixed_prosthetic).toEqual(fixedCase().fixed_prosthetic);
    });

    it('null clears a nullable field; null on a required field is 400', async () => {
      const cleared = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: {
          case_name: null,
          due_date: null,
          patient_info: null,
          fixed_prosthetic: null,
          reason: 'date unknown',
        },
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({
        case_name: null,
        due_date: null,
        patient_info: null,
        fixed_prosthetic: null,
        dental_details: null,
      });
      const bad = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { priority: null, rush_order: null },
      });
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.errors).sort()).toEqual(['priority', 'rush_order']);
    });

    it('{} leaves the case and updated_at unchanged; a real change moves updated_at', async () => {
      const before = (await s.as('admin', `/api/v1/cases/${id}`)).body;
      const same = await s.as('admin', `/api/v1/cases/${id}`, { method: 'PUT', body: {} });
      expect(same.body).toEqual(before);
      const again = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { priority: 'high' },
      });
      expect(again.body.updated_at).toBe(before.updated_at);
      const changed = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { priority: 'low' },
      });
      expect(changed.body.updated_at > before.updated_at).toBe(true);
    });

    it('PUT validates case_type against the enum (the original applied any string) and ignores doctor_id', async () => {
      const bad = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { case_type: 'anything' },
      });
      expect(bad.status).toBe(400);
      const ok = await s.as('admin', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { case_type: 'denture', doctor_id: 'other' },
      });
      expect(ok.body).toMatchObject({ case_type: 'denture', doctor_id: 'doc-100' });
    });

    it('PATCH /status sets the status; extra keys are ignored; bad or missing status is 400', async () => {
      const res = await s.as('tech', `/api/v1/cases/${id}/status`, {
        method: 'PATCH',
        body: { status: 'in_progress', case_name: 'no' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'in_progress', case_name: 'Crown #8' });
      const bad = await s.as('tech', `/api/v1/cases/${id}/status`, {
        method: 'PATCH',
        body: { status: 'shipped' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors.status).toBe(
        "is not one of ['pending', 'in_progress', 'completed', 'cancelled', 'on_hold']",
      );
      const missing = await s.as('tech', `/api/v1/cases/${id}/status`, {
        method: 'PATCH',
        body: {},
      });
      expect(missing.body.errors.status).toBe("'status' is a required property");
    });

    it('PUT and PATCH of a missing case are 404', async () => {
      expect(
        (
          await s.as('admin', '/api/v1/cases/2147483000', {
            method: 'PUT',
            body: { case_name: 'x' },
          })
        ).status,
      ).toBe(404);
      expect(
        (
          await s.as('admin', '/api/v1/cases/2147483000/status', {
            method: 'PATCH',
            body: { status: 'pending' },
          })
        ).status,
      ).toBe(404);
    });
  });

  describe('DELETE is soft', () => {
    it('204, then the case is gone from every read, and the row stays in the database', async () => {
      const id = (await create(fixedCase({ doctor_id: 'doc-deleted' }))).body.id;
      const del = await s.as('admin', `/api/v1/cases/${id}`, { method: 'DELETE' });
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      expect((await s.as('admin', `/api/v1/cases/${id}`)).status).toBe(404);
      expect((await s.as('admin', `/api/v1/cases/${id}`, { method: 'DELETE' })).status).toBe(404);
      expect(
        (await s.as('admin', `/api/v1/cases/${id}`, { method: 'PUT', body: { case_name: 'x' } }))
          .status,
      ).toBe(404);
      expect(
        (await s.as('admin', '/api/v1/cases/?doctor_id=doc-deleted')).body.pagination.total,
      ).toBe(0);
      const db = new Client({ connectionString: testDatabaseUrls().ownerUrl });
      await db.connect();
      try {
        const row = await db.query('SELECT deleted_at FROM cases WHERE id = $1', [id]);
        expect(row.rows[0].deleted_at).toBeInstanceOf(Date);
      } finally {
        await db.end();
      }
    });
  });

  describe('list', () => {
    const doctor = `doc-list-${Date.now()}`;
    const ids: number[] = [];
    beforeAll(async () => {
      const mk = (over: Record<string, unknown>) =>
        create({ doctor_id: doctor, product_id: 'p1', case_type: 'denture', ...over });
      for (let i = 0; i < 25; i++)
        ids.push(
          (await mk({ case_name: `n${i}`, priority: i % 3 === 0 ? 'low' : 'medium' })).body.id,
        );
      ids.push(
        (
          await mk({
            product_id: 'p2',
            rush_order: true,
            case_type: 'night_guard',
            priority: 'high',
          })
        ).body.id,
      );
      await s.as('admin', `/api/v1/cases/${ids[0]}/status`, {
        method: 'PATCH',
        body: { status: 'on_hold', reason: 'waiting for the bite registration' },
      });
    });

    const list = (q: string, user = 'admin') =>
      s.as(user, `/api/v1/cases/?doctor_id=${doctor}${q}`);

    it('envelope with defaults: page 1, per_page 20, newest first; also without the trailing slash', async () => {
      const res = await list('');
      expect(res.status).toBe(200);
      expect(res.body.pagination).toEqual({
        page: 1,
        per_page: 20,
        total: 26,
        pages: 2,
        has_prev: false,
        has_next: true,
      });
      expect(res.body.cases.map((c: any) => c.id)).toEqual([...ids].reverse().slice(0, 20));
      const noSlash = await s.as('admin', `/api/v1/cases?doctor_id=${doctor}`);
      expect(noSlash.status).toBe(200);
      expect(noSlash.body.pagination.total).toBe(26);
    });

    it('pages, caps per_page at 100, and returns an empty page past the end', async () => {
      const p2 = await list('&page=2&per_page=20');
      expect(p2.body.cases).toHaveLength(6);
      expect(p2.body.pagination).toMatchObject({ page: 2, has_prev: true, has_next: false });
      expect((await list('&per_page=500')).body.pagination.per_page).toBe(100);
      const past = await list('&page=9');
      expect(past.status).toBe(200);
      expect(past.body.cases).toEqual([]);
    });

    it.each([
      ['status=on_hold', 1],
      ['product_id=p2', 1],
      ['case_type=night_guard', 1],
      ['case_type=denture', 25],
      ['priority=low', 9],
      ['rush_order=true', 1],
      ['rush_order=false', 25],
      ['status=pending&priority=low', 8],
    ])('filter %s', async (q, n) => {
      const res = await list(`&${q}&per_page=100`);
      expect(res.status).toBe(200);
      expect(res.body.pagination.total).toBe(n);
      expect(res.body.cases).toHaveLength(n);
    });

    it.each([
      'status=shipped',
      'rush_order=yes',
      'rush_order=',
      'priority=urgent',
      'case_type=crown',
      'page=0',
      'page=abc',
      'per_page=-5',
      'page=1&page=2',
      'cursor=not-a-cursor',
      'cursor=&page=2',
    ])('bad value %s is 400 in the error shape', async (q) => {
      const res = await list(`&${q}`);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(res.body.errors).toBeDefined();
    });

    it('keyset pagination walks every case once, newest first', async () => {
      const seen: number[] = [];
      let cursor = '';
      for (let i = 0; i < 10; i++) {
        const res = await list(`&limit=7&cursor=${cursor}`);
        expect(res.status).toBe(200);
        seen.push(...res.body.cases.map((c: any) => c.id));
        if (!res.body.next_cursor) break;
        cursor = res.body.next_cursor;
      }
      expect(seen).toEqual([...ids].reverse());
    });
  });

  describe('reference data (public, exactly the original)', () => {
    it.each(['types', 'shades', 'materials'])('%s', async (name) => {
      const res = await request(s.api.url, `/api/v1/cases/${name}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(referenceFile(name));
      expect(res.body.api_version).toBe('1.0');
    });
  });

  describe('doctor-info without a directory', () => {
    it('is 501 with a clear message when LINKSHUB_CORE_URL is not set', async () => {
      const res = await s.as('nolab', '/api/v1/cases/doctor-info/doc-1');
      expect(res.status).toBe(501);
      expect(res.body.message).toMatch(/not configured/);
    });
  });

  describe('the one error shape', () => {
    it('401 without a token, with the original messages', async () => {
      const none = await request(s.api.url, '/api/v1/cases/');
      expect(none.status).toBe(401);
      expectErrorShape(none.body, 401);
      expect(none.body.message).toBe('Authorization header is required');
      const bare = await request(s.api.url, '/api/v1/cases/', {
        headers: { authorization: 'Bearer' },
      });
      expect(bare.body.message).toBe('Invalid authorization header format');
    });

    it('403 for a user without a lab', async () => {
      const res = await s.as('nolab', '/api/v1/cases/');
      expect(res.status).toBe(403);
      expect(res.body.message).toBe('User lab information not available');
    });

    it('unknown route 404, wrong method 405 with Allow', async () => {
      const unknown = await s.as('admin', '/api/v1/nothing');
      expect(unknown.status).toBe(404);
      expectErrorShape(unknown.body, 404);
      const wrong = await s.as('admin', '/api/v1/cases/1', { method: 'PATCH', body: {} });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('DELETE, GET, HEAD, PUT');
      expectErrorShape(wrong.body, 405);
      const wrongColl = await s.as('admin', '/api/v1/cases/', { method: 'DELETE' });
      expect(wrongColl.status).toBe(405);
    });

    it('malformed JSON 400, non-JSON 415, missing body 415, oversized 413', async () => {
      const t = await s.token('admin');
      const post = (body: string, headers: Record<string, string>) =>
        request(s.api.url, '/api/v1/cases/', { method: 'POST', token: t, body, headers });
      const malformed = await post('{"doctor_id": "PHI-MARKER', {
        'content-type': 'application/json',
      });
      expect(malformed.status).toBe(400);
      expectErrorShape(malformed.body, 400);
      expect(malformed.text).not.toContain('PHI-MARKER');
      const text = await post('hello', { 'content-type': 'text/plain' });
      expect(text.status).toBe(415);
      expectErrorShape(text.body, 415);
      const nobody = await request(s.api.url, '/api/v1/cases/', { method: 'POST', token: t });
      expect(nobody.status).toBe(415);
      const big = await post(JSON.stringify(fixedCase({ description: 'x'.repeat(2_000_000) })), {
        'content-type': 'application/json',
      });
      expect(big.status).toBe(413);
      expectErrorShape(big.body, 413);
    });

    it('echoes a valid X-Request-Id in the header and the error body', async () => {
      const res = await request(s.api.url, '/api/v1/cases/', {
        headers: { 'x-request-id': 'req-12345678' },
      });
      expect(res.headers.get('x-request-id')).toBe('req-12345678');
      expect(res.body.request_id).toBe('req-12345678');
    });
  });
});
