import { startStack, type Stack } from '@lhcms/testing';

/**
 * A user of lab 2 can neither list, read, update, change the status of nor
 * delete a lab 1 case, and the answers do not reveal that it exists: they are
 * the answers for a case that does not exist at all.
 */
describe('lab isolation (both ways)', () => {
  let s: Stack;
  let lab1Case: number;
  let lab2Case: number;
  const MISSING = 2_147_480_000;

  beforeAll(async () => {
    s = await startStack();
    const body = {
      doctor_id: 'iso-doc',
      product_id: 'p',
      case_type: 'other',
      patient_info: { patient_id: 'ISO-PATIENT' },
    };
    lab1Case = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body })).body.id;
    lab2Case = (await s.as('lab2admin', '/api/v1/cases/', { method: 'POST', body })).body.id;
  });
  afterAll(() => s.close());

  const attempts = (id: number | string) => [
    { method: 'GET', path: `/api/v1/cases/${id}` },
    { method: 'PUT', path: `/api/v1/cases/${id}`, body: { case_name: 'hijack' } },
    { method: 'PATCH', path: `/api/v1/cases/${id}/status`, body: { status: 'cancelled' } },
    { method: 'DELETE', path: `/api/v1/cases/${id}` },
  ];

  function strip(body: any) {
    if (!body || typeof body !== 'object') return body;
    const { timestamp: _t, request_id: _r, ...rest } = body;
    return rest;
  }

  it.each([
    ['lab2admin', () => lab1Case],
    ['admin', () => lab2Case],
  ])('%s gets exactly the answers of a missing case for a foreign case', async (user, foreign) => {
    const missingAttempts = attempts(MISSING);
    for (const [i, a] of attempts(foreign()).entries()) {
      const res = await s.as(user, a.path, { method: a.method, body: a.body });
      const m = missingAttempts[i];
      const missing = await s.as(user, m.path, { method: m.method, body: m.body });
      expect(res.status).toBe(404);
      expect(strip(res.body)).toEqual(strip(missing.body));
      expect(res.text).not.toContain('ISO-PATIENT');
    }
  });

  it('the foreign case is untouched after the attempts', async () => {
    const res = await s.as('admin', `/api/v1/cases/${lab1Case}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ case_name: null, status: 'pending' });
  });

  it('lists only show the caller lab, whatever the filters', async () => {
    const l1 = await s.as('admin', '/api/v1/cases/?doctor_id=iso-doc');
    expect(l1.body.cases.map((c: any) => c.id)).toEqual([lab1Case]);
    const l2 = await s.as('lab2admin', '/api/v1/cases/?doctor_id=iso-doc&per_page=100');
    expect(l2.body.cases.map((c: any) => c.id)).toEqual([lab2Case]);
    const cursor = await s.as('lab2admin', '/api/v1/cases/?limit=100');
    expect(cursor.body.cases.every((c: any) => c.lab_id === String(s.labs.lab2))).toBe(true);
  });

  it('X-Lab-Id selects among active memberships only', async () => {
    // multi: inactive-lab admin (lab 3), member of lab 2, viewer of lab 1.
    const dflt = await s.as('multi', '/api/v1/cases/?doctor_id=iso-doc');
    expect(dflt.body.cases.map((c: any) => c.lab_id)).toEqual([String(s.labs.lab2)]);
    const lab1 = await s.as('multi', '/api/v1/cases/?doctor_id=iso-doc', {
      headers: { 'x-lab-id': String(s.labs.lab1) },
    });
    expect(lab1.status).toBe(200);
    expect(lab1.body.cases.map((c: any) => c.id)).toEqual([lab1Case]);
    for (const lab of [String(s.labs.lab3), '999999', 'x;drop', '']) {
      const res = await s.as('admin', '/api/v1/cases/', { headers: { 'x-lab-id': lab } });
      if (lab === '') expect(res.status).toBe(200);
      else expect(res.status).toBe(403);
    }
    const inactive = await s.as('multi', `/api/v1/cases/${lab1Case}`, {
      headers: { 'x-lab-id': String(s.labs.lab3) },
    });
    expect(inactive.status).toBe(403);
  });

  it('a case created with X-Lab-Id lands in that lab', async () => {
    const res = await s.as('multi', '/api/v1/cases/', {
      method: 'POST',
      headers: { 'x-lab-id': String(s.labs.lab2) },
      body: { doctor_id: 'iso-doc-2', product_id: 'p', case_type: 'other' },
    });
    expect(res.status).toBe(201);
    expect(res.body.lab_id).toBe(String(s.labs.lab2));
  });
});
