import { randomUUID } from 'node:crypto';
import { startStack, type Stack } from '@lhcms/testing';
import type { Client } from 'pg';
import { superuserClient } from '../audit/audit-test-helpers';

const DAY = 86_400_000;
const plusDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

/** Every day works and the cut-off is the day's end: due dates do not depend on when the test runs. */
const EVERY_DAY = {
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  cutoff: '23:59',
};
/** fixed_prosthetic: 6 standard, 3 rush, 1 transit (distinct from the defaults). */
const turnaround = (remakeUsesRush: boolean) => ({
  entries: [
    {
      case_type: 'fixed_prosthetic',
      standard_days: 6,
      rush_days: 3,
      transit_days: 1,
    },
  ],
  remake_uses_rush: remakeUsesRush,
});
const receipt = (c: { created_at: string }) =>
  c.created_at.slice(11, 16) > '23:59'
    ? plusDays(c.created_at.slice(0, 10), 1)
    : c.created_at.slice(0, 10);

const PRESCRIPTION = {
  doctor_id: 'remake-doc',
  product_id: 'zirconia-crown',
  case_type: 'fixed_prosthetic',
  case_name: 'Crown for Jane Roe',
  description: 'Upper right molar',
  priority: 'high',
  assigned_to: 'tech-7',
  special_instructions: 'Patient Jane Roe is allergic to nickel',
  patient_info: { patient_id: 'P-REMAKE-1', first_name: 'Jane', last_name: 'Roe' },
  fixed_prosthetic: { type: 'crown', tooth_numbers: [3], material: 'zirconia' },
};

const GOOD = { reason_code: 'fit', responsibility: 'lab', chargeable: false };

describe('remakes (e2e)', () => {
  let s: Stack;
  let db: Client;

  beforeAll(async () => {
    s = await startStack();
    db = await superuserClient();
    const cal = await s.as('admin', '/api/v1/lab-settings/calendar', {
      method: 'PUT',
      body: EVERY_DAY,
    });
    expect(cal.status).toBe(200);
    const t = await s.as('admin', '/api/v1/lab-settings/turnaround', {
      method: 'PUT',
      body: turnaround(true),
    });
    expect(t.status).toBe(200);
  });
  afterAll(async () => {
    await db.end();
    await s.close();
  });

  const create = async (over: Record<string, unknown> = {}, user = 'tech') => {
    const res = await s.as(user, '/api/v1/cases/', {
      method: 'POST',
      body: { ...PRESCRIPTION, ...over },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  const remake = (id: number, body: unknown = GOOD, user = 'tech', headers = {}) =>
    s.as(user, `/api/v1/cases/${id}/remake`, { method: 'POST', body, headers });
  const events = async (id: number) => {
    const res = await s.as('viewer', `/api/v1/cases/${id}/events`);
    expect(res.status).toBe(200);
    return res.body.events as Array<Record<string, unknown>>;
  };
  const liveCases = async () =>
    Number(
      (await db.query(`SELECT count(*) AS n FROM cases WHERE lab_id = $1`, [String(s.labs.lab1)]))
        .rows[0].n,
    );

  it('copies the prescription into a new pending case, linked both ways, due from the calendar with rush days', async () => {
    const original = await create();
    // The original moves on: a remake starts afresh whatever the original's state.
    const moved = await s.as('tech', `/api/v1/cases/${original.id}/status`, {
      method: 'PATCH',
      body: { status: 'in_progress' },
    });
    expect(moved.status).toBe(200);
    const rid = `remake-${randomUUID()}`;
    const res = await remake(
      original.id,
      { ...GOOD, notes: 'Jane Roe says the crown rocks on the left' },
      'tech',
      { 'x-request-id': rid },
    );
    expect(res.status).toBe(201);
    const r = res.body;
    expect(res.headers.get('location')).toBe(`/api/v1/cases/${r.id}`);
    expect(res.headers.get('etag')).toBe(`"${r.version}"`);
    expect(r.id).not.toBe(original.id);
    expect(r).toMatchObject({
      doctor_id: original.doctor_id,
      product_id: original.product_id,
      case_type: 'fixed_prosthetic',
      case_name: original.case_name,
      description: original.description,
      priority: 'high',
      special_instructions: original.special_instructions,
      patient_info: original.patient_info,
      fixed_prosthetic: original.fixed_prosthetic,
      dental_details: original.fixed_prosthetic,
      rush_order: false,
      status: 'pending',
      stage: null,
      assigned_to: null,
      remake_of: original.id,
      remake_reason: 'fit',
      remake_responsibility: 'lab',
      remake_chargeable: false,
      remakes: [],
      late: false,
    });
    expect(r.case_number).toMatch(/-\d{4}-\d{4,}$/);
    expect(r.case_number).not.toBe(original.case_number);
    // remake_uses_rush (the default, set here too): the rush days from the remake's receipt.
    expect(r.due_date).toBe(plusDays(receipt(r), 3));
    expect(r.ship_by).toBe(plusDays(receipt(r), 2));
    expect(r.due_date_feasible).toBe(true);

    const got = await s.as('viewer', `/api/v1/cases/${original.id}`);
    expect(got.body).toMatchObject({
      remake_of: null,
      remake_reason: null,
      remake_responsibility: null,
      remake_chargeable: null,
      remakes: [r.id],
    });
    expect((await s.as('viewer', `/api/v1/cases/${r.id}`)).body.remake_of).toBe(original.id);

    // Both timelines, with the notes as each event's reason (stored encrypted).
    const before = await events(original.id);
    expect(before[before.length - 1]).toMatchObject({
      event_type: 'remake_created',
      related_case_id: r.id,
      reason: 'Jane Roe says the crown rocks on the left',
      actor_user_id: expect.any(String),
    });
    expect(await events(r.id)).toEqual([
      expect.objectContaining({
        event_type: 'created',
        to_status: 'pending',
        related_case_id: original.id,
        reason: 'Jane Roe says the crown rocks on the left',
      }),
    ]);
    const stored = await db.query(
      `SELECT reason FROM case_events WHERE case_id = ANY($1) AND reason IS NOT NULL`,
      [[original.id, r.id]],
    );
    expect(stored.rows).toHaveLength(2);
    for (const e of stored.rows) expect(e.reason).toMatch(/^enc:v1:/);
    // The copied PHI is encrypted at rest like any case's.
    const raw = await db.query(
      `SELECT patient_info, case_name, special_instructions, remake_of, remake_reason,
              remake_responsibility, remake_chargeable FROM cases WHERE id = $1`,
      [r.id],
    );
    expect(raw.rows[0]).toMatchObject({
      remake_of: original.id,
      remake_reason: 'fit',
      remake_responsibility: 'lab',
      remake_chargeable: false,
    });
    for (const c of ['patient_info', 'case_name', 'special_instructions'])
      expect(raw.rows[0][c]).toMatch(/^enc:v1:/);

    // One audit row, in the request: the new case's creation, values only where not PHI.
    const audit = (
      await db.query(`SELECT * FROM audit_events WHERE request_id = $1 ORDER BY seq`, [rid])
    ).rows;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      interaction: 'create',
      resource_type: 'case',
      resource_id: String(r.id),
      outcome: 'success',
      http_status: 201,
      route: '/api/v1/cases/:id/remake',
    });
    expect(audit[0].changed_fields).toEqual(
      expect.arrayContaining([
        { field: 'remake_of', new: original.id },
        { field: 'remake_reason', new: 'fit' },
        { field: 'remake_responsibility', new: 'lab' },
        { field: 'remake_chargeable', new: false },
        { field: 'patient_info' },
        { field: 'status', new: 'pending' },
      ]),
    );
    expect(JSON.stringify(audit[0])).not.toContain('Jane');
  });

  it('uses the standard days when the turnaround says remakes are not rushed; a rush original stays rush', async () => {
    const t = await s.as('admin', '/api/v1/lab-settings/turnaround', {
      method: 'PUT',
      body: turnaround(false),
    });
    expect(t.status).toBe(200);
    try {
      const original = await create();
      const r = (await remake(original.id)).body;
      expect(r.due_date).toBe(plusDays(receipt(r), 6));
      expect(r.ship_by).toBe(plusDays(receipt(r), 5));
      const rush = await create({ rush_order: true });
      const rr = (await remake(rush.id)).body;
      expect(rr.rush_order).toBe(true);
      expect(rr.due_date).toBe(plusDays(receipt(rr), 3));
    } finally {
      await s.as('admin', '/api/v1/lab-settings/turnaround', {
        method: 'PUT',
        body: turnaround(true),
      });
    }
  });

  it('a case may be remade more than once (and a remake remade): remakes lists each, oldest first', async () => {
    const original = await create();
    const a = (await remake(original.id, { ...GOOD, responsibility: 'doctor' }, 'admin')).body;
    const b = (
      await remake(original.id, {
        reason_code: 'shade',
        responsibility: 'unknown',
        chargeable: true,
      })
    ).body;
    const c = (await remake(a.id)).body;
    expect([a.remake_of, b.remake_of, c.remake_of]).toEqual([original.id, original.id, a.id]);
    expect(b).toMatchObject({ remake_responsibility: 'unknown', remake_chargeable: true });
    expect((await s.as('viewer', `/api/v1/cases/${original.id}`)).body.remakes).toEqual([
      a.id,
      b.id,
    ]);
    // Lists carry remakes too (one query for the page).
    const listed = await s.as('viewer', `/api/v1/cases/?doctor_id=remake-doc&per_page=100`);
    const byId = new Map(listed.body.cases.map((x: any) => [x.id, x]));
    expect((byId.get(original.id) as any).remakes).toEqual([a.id, b.id]);
    expect((byId.get(a.id) as any).remakes).toEqual([c.id]);
    expect((byId.get(c.id) as any).remakes).toEqual([]);
    // A deleted remake is no longer listed on its original.
    const del = await s.as('admin', `/api/v1/cases/${b.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await s.as('viewer', `/api/v1/cases/${original.id}`)).body.remakes).toEqual([a.id]);
    // A write's answer carries them too (they come back with the updated row).
    const moved = await s.as('tech', `/api/v1/cases/${original.id}/status`, {
      method: 'PATCH',
      body: { status: 'in_progress' },
    });
    expect([moved.status, moved.body.remakes]).toEqual([200, [a.id]]);
    // Every way of reading a page carries them: offset pages, keyset (cursor) pages, and a
    // nullable sort's pages.
    for (const query of ['per_page=100', 'limit=100', 'per_page=100&sort=-due_date']) {
      const page = await s.as('viewer', `/api/v1/cases/?doctor_id=remake-doc&${query}`);
      expect(page.status).toBe(200);
      const seen = new Map(page.body.cases.map((x: any) => [x.id, x.remakes]));
      expect([query, seen.get(original.id), seen.get(a.id), seen.get(c.id)]).toEqual([
        query,
        [a.id],
        [c.id],
        [],
      ]);
    }
  });

  it('the list filters remake=true (remakes only) and remake=false (the others); a bad value is 400', async () => {
    const original = await create({ doctor_id: 'filter-doc' });
    const r = (await remake(original.id)).body;
    const ids = async (q: string) => {
      const res = await s.as('viewer', `/api/v1/cases/?doctor_id=filter-doc&${q}`);
      expect(res.status).toBe(200);
      return res.body.cases.map((x: any) => x.id);
    };
    expect(await ids('remake=true')).toEqual([r.id]);
    expect(await ids('remake=false')).toEqual([original.id]);
    expect((await ids('')).sort()).toEqual([original.id, r.id].sort());
    const cursor = await s.as('viewer', `/api/v1/cases/?doctor_id=filter-doc&remake=true&limit=5`);
    expect(cursor.body.cases.map((x: any) => x.id)).toEqual([r.id]);
    for (const bad of ['yes', '1', 'TRUE', '']) {
      const res = await s.as('viewer', `/api/v1/cases/?remake=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body.errors.remake).toBeDefined();
    }
    const twice = await s.as('viewer', '/api/v1/cases/?remake=true&remake=false');
    expect(twice.status).toBe(400);
  });

  describe('refusals: a clear 4xx, nothing written', () => {
    let original: { id: number };
    beforeAll(async () => {
      original = await create();
    });

    it.each([
      ['an unknown reason code', { ...GOOD, reason_code: 'bad_mood' }, 'reason_code'],
      ['a reason code that is not a code', { ...GOOD, reason_code: 'Fit!' }, 'reason_code'],
      ['no reason code', { responsibility: 'lab', chargeable: false }, 'reason_code'],
      [
        'a responsibility not in the enum',
        { ...GOOD, responsibility: 'patient' },
        'responsibility',
      ],
      ['no responsibility', { reason_code: 'fit', chargeable: false }, 'responsibility'],
      ['chargeable as a string', { ...GOOD, chargeable: 'yes' }, 'chargeable'],
      ['chargeable as a number', { ...GOOD, chargeable: 1 }, 'chargeable'],
      ['no chargeable', { reason_code: 'fit', responsibility: 'lab' }, 'chargeable'],
      ['notes too long', { ...GOOD, notes: 'x'.repeat(2001) }, 'notes'],
      ['empty notes', { ...GOOD, notes: '' }, 'notes'],
      ['notes not a string', { ...GOOD, notes: { text: 'x' } }, 'notes'],
      ['an unknown field', { ...GOOD, due_date: '2030-01-01' }, 'due_date'],
    ])('%s is 400 naming the field', async (_, body, field) => {
      const n = await liveCases();
      const res = await remake(original.id, body);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.errors)).toEqual([field]);
      expect(await liveCases()).toBe(n);
    });

    it('a body that is not a JSON object is 400; not JSON is 415', async () => {
      expect((await remake(original.id, [GOOD])).status).toBe(400);
      const form = await s.as('tech', `/api/v1/cases/${original.id}/remake`, {
        method: 'POST',
        body: 'reason_code=fit',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
    });

    it('a cancelled case is 409 (not remakeable)', async () => {
      const c = await create();
      const cancel = await s.as('tech', `/api/v1/cases/${c.id}/status`, {
        method: 'PATCH',
        body: { status: 'cancelled', reason: 'duplicate' },
      });
      expect(cancel.status).toBe(200);
      const n = await liveCases();
      const rid = `remake-${randomUUID()}`;
      const res = await remake(c.id, GOOD, 'tech', { 'x-request-id': rid });
      expect(res.status).toBe(409);
      // The refusal is audited against the original, with the domain code.
      const audit = (await db.query(`SELECT * FROM audit_events WHERE request_id = $1`, [rid]))
        .rows;
      expect(audit).toEqual([
        expect.objectContaining({
          resource_id: String(c.id),
          outcome_detail: 'CASE_NOT_REMAKEABLE',
          http_status: 409,
        }),
      ]);
      expect(res.body).toMatchObject({
        code: 409,
        message: 'A cancelled case cannot be remade',
        not_remakeable: 'cancelled',
      });
      expect(await liveCases()).toBe(n);
      expect((await events(c.id)).map((e) => e.event_type)).not.toContain('remake_created');
    });

    it('a deleted case is 409 (not remakeable)', async () => {
      const c = await create();
      expect((await s.as('admin', `/api/v1/cases/${c.id}`, { method: 'DELETE' })).status).toBe(204);
      const res = await remake(c.id);
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        code: 409,
        message: 'A deleted case cannot be remade',
        not_remakeable: 'deleted',
      });
    });

    it("another lab's case and a case that does not exist are the same 404", async () => {
      const theirs = await create({}, 'lab2admin');
      const n = await liveCases();
      const other = await remake(theirs.id);
      const missing = await remake(2_000_000_000);
      expect([other.status, missing.status]).toEqual([404, 404]);
      expect(other.body.error).toBe(missing.body.error);
      expect(other.body.message).toBe(missing.body.message);
      expect((await remake(0)).status).toBe(404);
      expect((await remake('abc' as never)).status).toBe(404);
      expect(await liveCases()).toBe(n);
      expect((await s.as('lab2admin', `/api/v1/cases/${theirs.id}`)).body.remakes).toEqual([]);
    });

    it('a viewer is 403; members and admins may remake', async () => {
      const res = await remake(original.id, GOOD, 'viewer');
      expect(res.status).toBe(403);
      expect((await remake(original.id, GOOD, 'admin')).status).toBe(201);
      expect((await remake(original.id, GOOD, 'tech')).status).toBe(201);
    });
  });

  describe('the remake reason catalogue', () => {
    it('serves the defaults, lets an admin replace it, and remakes follow it', async () => {
      const def = await s.as('viewer', '/api/v1/lab-settings/remake-reasons');
      expect(def.status).toBe(200);
      expect(def.body).toMatchObject({ customised: false, updated_at: null });
      expect(def.body.reasons.map((r: any) => r.code)).toEqual([
        'fit',
        'contacts',
        'occlusion',
        'shade',
        'fracture',
        'margin',
        'doctor_change',
        'scan_impression',
      ]);
      for (const r of def.body.reasons) expect(r.label).toEqual(expect.any(String));

      const body = {
        reasons: [
          { code: 'bite_high', label: 'Bite too high' },
          { code: 'fit', label: 'Does not seat' },
        ],
      };
      expect(
        (await s.as('tech', '/api/v1/lab-settings/remake-reasons', { method: 'PUT', body })).status,
      ).toBe(403);
      const put = await s.as('admin', '/api/v1/lab-settings/remake-reasons', {
        method: 'PUT',
        body,
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ ...body, customised: true });
      expect(put.body.updated_at).toEqual(expect.any(String));
      expect((await s.as('viewer', '/api/v1/lab-settings/remake-reasons')).body).toEqual(put.body);
      // Another lab keeps the defaults.
      expect((await s.as('lab2admin', '/api/v1/lab-settings/remake-reasons')).body.customised).toBe(
        false,
      );

      try {
        const original = await create();
        const gone = await remake(original.id, { ...GOOD, reason_code: 'shade' });
        expect(gone.status).toBe(400);
        expect(gone.body.errors.reason_code).toBeDefined();
        const ok = await remake(original.id, { ...GOOD, reason_code: 'bite_high' });
        expect(ok.status).toBe(201);
        expect(ok.body.remake_reason).toBe('bite_high');
      } finally {
        const back = await s.as('admin', '/api/v1/lab-settings/remake-reasons', {
          method: 'PUT',
          body: { reasons: def.body.reasons },
        });
        expect(back.status).toBe(200);
      }
    });

    it.each([
      ['an empty list', { reasons: [] }, 'reasons'],
      ['no list', {}, 'reasons'],
      [
        'a code twice',
        {
          reasons: [
            { code: 'fit', label: 'A' },
            { code: 'fit', label: 'B' },
          ],
        },
        'reasons.1.code',
      ],
      ['a code that is not a code', { reasons: [{ code: 'Fit ', label: 'A' }] }, 'reasons.0.code'],
      ['no label', { reasons: [{ code: 'fit' }] }, 'reasons.0.label'],
      [
        'a label too long',
        { reasons: [{ code: 'fit', label: 'x'.repeat(101) }] },
        'reasons.0.label',
      ],
      ['an unknown field', { reasons: [{ code: 'fit', label: 'A' }], extra: 1 }, 'extra'],
      [
        '101 reasons',
        { reasons: Array.from({ length: 101 }, (_, i) => ({ code: `r${i}`, label: 'x' })) },
        'reasons',
      ],
    ])('refuses %s (400 naming the field, nothing saved)', async (_, body, field) => {
      const before = (await s.as('viewer', '/api/v1/lab-settings/remake-reasons')).body;
      const res = await s.as('admin', '/api/v1/lab-settings/remake-reasons', {
        method: 'PUT',
        body,
      });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.errors)).toEqual([field]);
      expect((await s.as('viewer', '/api/v1/lab-settings/remake-reasons')).body).toEqual(before);
    });
  });
});
