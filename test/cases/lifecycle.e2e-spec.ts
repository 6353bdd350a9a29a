import { startStack, testDatabaseUrls, type Stack } from '@lhcms/testing';
import { Client } from 'pg';

type Status = 'pending' | 'in_progress' | 'on_hold' | 'completed' | 'cancelled';

const newCase = (over: Record<string, unknown> = {}) => ({
  doctor_id: 'life-doc',
  product_id: 'p',
  case_type: 'other',
  ...over,
});

describe('case lifecycle (e2e)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  const create = async (user = 'tech', over: Record<string, unknown> = {}) => {
    const res = await s.as(user, '/api/v1/cases/', { method: 'POST', body: newCase(over) });
    expect(res.status).toBe(201);
    return res.body;
  };
  const patch = (
    id: number,
    status: Status,
    reason?: string,
    user = 'tech',
    headers: Record<string, string> = {},
  ) =>
    s.as(user, `/api/v1/cases/${id}/status`, {
      method: 'PATCH',
      body: reason ? { status, reason } : { status },
      headers,
    });

  /** Brings a fresh case into a given status along legal moves. */
  async function caseIn(
    status: Status,
    heldFrom: 'pending' | 'in_progress' = 'pending',
  ): Promise<number> {
    const { id } = await create();
    const path: Array<[Status, string?]> = {
      pending: [],
      in_progress: [['in_progress']],
      on_hold: heldFrom === 'pending' ? [['on_hold', 'r']] : [['in_progress'], ['on_hold', 'r']],
      completed: [['in_progress'], ['completed']],
      cancelled: [['cancelled', 'r']],
    }[status] as Array<[Status, string?]>;
    for (const [to, reason] of path) expect((await patch(id, to, reason)).status).toBe(200);
    return id;
  }

  describe('case numbers', () => {
    it('are assigned on create, human readable and searchable', async () => {
      const c = await create();
      const yymm = new Date().toISOString().slice(2, 4) + new Date().toISOString().slice(5, 7);
      expect(c.case_number).toMatch(new RegExp(`^TL-${yymm}-\\d{4,}$`));
      const byNumber = await s.as('viewer', `/api/v1/cases/by-number/${c.case_number}`);
      expect(byNumber.status).toBe(200);
      expect(byNumber.body.id).toBe(c.id);
      const listed = await s.as('viewer', `/api/v1/cases/?case_number=${c.case_number}`);
      expect(listed.body.cases.map((x: any) => x.id)).toEqual([c.id]);
      expect((await s.as('lab2admin', `/api/v1/cases/by-number/${c.case_number}`)).status).toBe(
        404,
      );
      expect((await s.as('viewer', '/api/v1/cases/by-number/not-a-number')).status).toBe(404);
    });

    it('20 concurrent creates in one lab get 20 distinct numbers', async () => {
      const all = await Promise.all(
        Array.from({ length: 20 }, () =>
          s.as('tech', '/api/v1/cases/', { method: 'POST', body: newCase() }),
        ),
      );
      expect(all.map((r) => r.status)).toEqual(Array(20).fill(201));
      expect(new Set(all.map((r) => r.body.case_number)).size).toBe(20);
    });
  });

  describe('status transitions (service)', () => {
    const legal: Array<[Status, Status, string | null, 'pending' | 'in_progress' | null]> = [
      ['pending', 'in_progress', null, null],
      ['pending', 'on_hold', 'waiting for scan', null],
      ['pending', 'cancelled', 'duplicate', null],
      ['in_progress', 'on_hold', 'shade question', null],
      ['in_progress', 'completed', null, null],
      ['in_progress', 'cancelled', 'patient moved', null],
      ['on_hold', 'pending', null, 'pending'],
      ['on_hold', 'in_progress', null, 'in_progress'],
      ['on_hold', 'cancelled', 'no answer', 'in_progress'],
    ];
    it.each(legal)('%s → %s is allowed', async (from, to, reason, held) => {
      const id = await caseIn(from, held ?? 'pending');
      const res = await patch(id, to, reason ?? undefined);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(to);
    });

    const forbidden: Array<[Status, Status, Status[], 'pending' | 'in_progress' | null]> = [
      ['pending', 'completed', ['in_progress', 'on_hold', 'cancelled'], null],
      ['in_progress', 'pending', ['on_hold', 'completed', 'cancelled'], null],
      ['on_hold', 'in_progress', ['pending', 'cancelled'], 'pending'],
      ['on_hold', 'pending', ['in_progress', 'cancelled'], 'in_progress'],
      ['on_hold', 'completed', ['in_progress', 'cancelled'], 'in_progress'],
      ['completed', 'pending', [], null],
      ['completed', 'cancelled', [], null],
      ['completed', 'on_hold', [], null],
      ['cancelled', 'pending', [], null],
      ['cancelled', 'in_progress', [], null],
      ['cancelled', 'completed', [], null],
    ];
    it.each(forbidden)(
      '%s → %s is 409 with the allowed next states %j',
      async (from, to, allowed, held) => {
        const id = await caseIn(from, held ?? 'pending');
        const res = await patch(id, to, 'because');
        expect(res.status).toBe(409);
        expect(res.body.allowed_transitions).toEqual(allowed);
        expect(res.body.current_status).toBe(from);
        // PUT with a status follows the same rules.
        const put = await s.as('tech', `/api/v1/cases/${id}`, {
          method: 'PUT',
          body: { status: to, reason: 'x' },
        });
        expect(put.status).toBe(409);
      },
    );

    it('on_hold, cancelled and due-date changes need a reason (400); the reason lands in the timeline', async () => {
      const id = await caseIn('pending');
      const before = (await s.as('viewer', `/api/v1/cases/${id}`)).body;
      const res = await patch(id, 'on_hold');
      expect(res.status).toBe(400);
      expect(res.body.errors.reason).toMatch(/required/);
      expect((await patch(id, 'cancelled')).status).toBe(400);
      const due = await s.as('tech', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { due_date: '2027-01-05' },
      });
      expect(due.status).toBe(400);
      const dueOk = await s.as('tech', `/api/v1/cases/${id}`, {
        method: 'PUT',
        body: { due_date: '2027-01-05', reason: 'doctor moved the appointment' },
      });
      expect(dueOk.status).toBe(200);
      const ev = (await s.as('viewer', `/api/v1/cases/${id}/events`)).body.events;
      expect(ev.at(-1)).toMatchObject({
        event_type: 'updated',
        reason: 'doctor moved the appointment',
        // The computed due date (schedule) moves, and ship-by with it.
        changed_fields: [
          { field: 'due_date', from: before.due_date, to: '2027-01-05' },
          { field: 'ship_by', from: before.ship_by, to: dueOk.body.ship_by },
        ],
      });
    });

    it('only a lab admin reopens a completed case, with a reason', async () => {
      const id = await caseIn('completed');
      const member = await patch(id, 'in_progress', 'remake', 'tech');
      expect(member.status).toBe(403);
      expect(member.body.missing_permission).toBe('case:reopen');
      expect((await patch(id, 'in_progress', undefined, 'admin')).status).toBe(400);
      const ok = await patch(id, 'in_progress', 'QC found a margin gap', 'admin');
      expect(ok.status).toBe(200);
      const ev = (await s.as('admin', `/api/v1/cases/${id}/events`)).body.events;
      expect(ev.at(-1)).toMatchObject({
        event_type: 'reopened',
        from_status: 'completed',
        to_status: 'in_progress',
        reason: 'QC found a margin gap',
      });
      // The allowed list shows the reopen only to those who may do it.
      expect(
        (await patch(await caseIn('completed'), 'pending', 'x', 'admin')).body.allowed_transitions,
      ).toEqual(['in_progress']);
    });
  });

  describe('status transitions (database)', () => {
    let db: Client;
    beforeAll(async () => {
      db = new Client({ connectionString: testDatabaseUrls().appUrl });
      await db.connect();
    });
    afterAll(() => db.end());

    async function rawMove(id: number, to: Status, reopen = false): Promise<void> {
      await db.query('BEGIN');
      try {
        await db.query(`SELECT set_config('app.lab_id', $1, true)`, [String(s.labs.lab1)]);
        if (reopen) await db.query(`SELECT set_config('lhcms.case_reopen', 'on', true)`);
        await db.query('UPDATE cases SET status = $2 WHERE id = $1', [id, to]);
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK');
        throw err;
      }
    }

    it.each([
      ['pending', 'completed'],
      ['in_progress', 'pending'],
      ['cancelled', 'pending'],
      ['completed', 'on_hold'],
    ] as Array<[Status, Status]>)(
      'a raw SQL %s → %s is refused by the trigger',
      async (from, to) => {
        const id = await caseIn(from);
        await expect(rawMove(id, to)).rejects.toThrow(/illegal case status transition/);
      },
    );

    it('a raw SQL resume must go back to the held-from status, and reopen needs the reopen flag', async () => {
      const held = await caseIn('on_hold', 'in_progress');
      await expect(rawMove(held, 'pending')).rejects.toThrow(/illegal/);
      await rawMove(held, 'in_progress');
      const done = await caseIn('completed');
      await expect(rawMove(done, 'in_progress')).rejects.toThrow(/illegal/);
      await rawMove(done, 'in_progress', true);
    });
  });

  describe('stages', () => {
    it('start at the first stage, move forward freely and backward only with a reason', async () => {
      const id = await caseIn('in_progress');
      expect((await s.as('tech', `/api/v1/cases/${id}`)).body.stage).toBe('received');
      const stage = (to: string, reason?: string) =>
        s.as('tech', `/api/v1/cases/${id}/stage`, {
          method: 'PATCH',
          body: reason ? { stage: to, reason } : { stage: to },
        });
      expect((await stage('qc')).body.stage).toBe('qc');
      const back = await stage('design');
      expect(back.status).toBe(400);
      expect(back.body.errors.reason).toBeDefined();
      expect((await stage('design', 'QC fail: contacts too tight')).body.stage).toBe('design');
      expect((await stage('polishing')).status).toBe(400);
      expect(
        (await s.as('viewer', `/api/v1/cases/?stage=design&doctor_id=life-doc`)).body.cases.map(
          (c: any) => c.id,
        ),
      ).toContain(id);
      const pending = await caseIn('pending');
      expect(
        (
          await s.as('tech', `/api/v1/cases/${pending}/stage`, {
            method: 'PATCH',
            body: { stage: 'qc' },
          })
        ).status,
      ).toBe(400);
    });

    it('a lab admin configures the stage list; members cannot', async () => {
      const custom = ['received', 'scan_review', 'milling', 'glaze', 'qc', 'shipped'];
      expect(
        (await s.as('tech', '/api/v1/lab-settings', { method: 'PUT', body: { stages: custom } }))
          .status,
      ).toBe(403);
      const put = await s.as('admin', '/api/v1/lab-settings', {
        method: 'PUT',
        body: { stages: custom },
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ stages: custom, customised: true });
      expect((await s.as('viewer', '/api/v1/lab-settings')).body.stages).toEqual(custom);
      expect((await s.as('lab2admin', '/api/v1/lab-settings')).body).toMatchObject({
        customised: false,
      });
      expect(
        (
          await s.as('admin', '/api/v1/lab-settings', {
            method: 'PUT',
            body: { stages: ['Bad Stage'] },
          })
        ).status,
      ).toBe(400);
      const id = await caseIn('in_progress');
      expect(
        (
          await s.as('tech', `/api/v1/cases/${id}/stage`, {
            method: 'PATCH',
            body: { stage: 'milling' },
          })
        ).body.stage,
      ).toBe('milling');
    });
  });

  describe('events, ETags and soft delete', () => {
    it('every change has an event: who, when, from → to, fields, reason, request id; PHI values never', async () => {
      const c = await create('tech', { case_name: 'Name PHI-EVT', priority: 'low' });
      await s.as('tech', `/api/v1/cases/${c.id}`, {
        method: 'PUT',
        body: {
          priority: 'high',
          case_name: 'New PHI-EVT',
          patient_info: { patient_id: 'PHI-EVT-ID' },
        },
        headers: { 'x-request-id': 'req-lifecycle-001' },
      });
      await patch(c.id, 'in_progress');
      const ev = await s.as('viewer', `/api/v1/cases/${c.id}/events`);
      expect(ev.status).toBe(200);
      const types = ev.body.events.map((e: any) => e.event_type);
      expect(types).toEqual(['created', 'updated', 'status_changed']);
      const upd = ev.body.events[1];
      expect(upd.actor_user_id).toBe('2');
      expect(upd.request_id).toBe('req-lifecycle-001');
      expect(upd.changed_fields).toEqual(
        expect.arrayContaining([
          { field: 'priority', from: 'low', to: 'high' },
          { field: 'case_name' },
          { field: 'patient_info' },
        ]),
      );
      expect(JSON.stringify(ev.body)).not.toContain('PHI-EVT');
      expect(ev.body.events[2]).toMatchObject({
        from_status: 'pending',
        to_status: 'in_progress',
        to_stage: 'received',
      });
    });

    it('case_events is append-only for the application role', async () => {
      const db = new Client({ connectionString: testDatabaseUrls().appUrl });
      await db.connect();
      try {
        await db.query(`SET app.lab_id = '${s.labs.lab1}'`);
        await expect(db.query(`UPDATE case_events SET reason = 'x'`)).rejects.toThrow(
          /permission denied|append-only/,
        );
        await expect(db.query(`DELETE FROM case_events`)).rejects.toThrow(
          /permission denied|append-only/,
        );
      } finally {
        await db.end();
      }
    });

    it('reads carry an ETag; If-Match guards PUT, PATCH and DELETE (412)', async () => {
      const c = await create();
      const read = await s.as('tech', `/api/v1/cases/${c.id}`);
      const etag = read.headers.get('etag')!;
      expect(etag).toBe(`"${read.body.version}"`);
      const ok = await s.as('tech', `/api/v1/cases/${c.id}`, {
        method: 'PUT',
        body: { priority: 'low' },
        headers: { 'if-match': etag },
      });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('etag')).not.toBe(etag);
      const stale = await s.as('tech', `/api/v1/cases/${c.id}`, {
        method: 'PUT',
        body: { priority: 'high' },
        headers: { 'if-match': etag },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.current_etag).toBe(ok.headers.get('etag'));
      expect(
        (await patch(c.id, 'in_progress', undefined, 'tech', { 'if-match': etag })).status,
      ).toBe(412);
      expect(
        (
          await s.as('admin', `/api/v1/cases/${c.id}`, {
            method: 'DELETE',
            headers: { 'if-match': etag },
          })
        ).status,
      ).toBe(412);
      expect(
        (
          await s.as('admin', `/api/v1/cases/${c.id}`, {
            method: 'DELETE',
            headers: { 'if-match': ok.headers.get('etag')! },
          })
        ).status,
      ).toBe(204);
    });

    it('two concurrent PUTs with the same If-Match: exactly one wins, the other gets 412', async () => {
      for (let round = 0; round < 5; round++) {
        const c = await create();
        const etag = (await s.as('tech', `/api/v1/cases/${c.id}`)).headers.get('etag')!;
        const [a, b] = await Promise.all([
          s.as('tech', `/api/v1/cases/${c.id}`, {
            method: 'PUT',
            body: { assigned_to: 'anna' },
            headers: { 'if-match': etag },
          }),
          s.as('admin', `/api/v1/cases/${c.id}`, {
            method: 'PUT',
            body: { assigned_to: 'bob' },
            headers: { 'if-match': etag },
          }),
        ]);
        expect([a.status, b.status].sort()).toEqual([200, 412]);
        const winner = a.status === 200 ? 'anna' : 'bob';
        expect((await s.as('tech', `/api/v1/cases/${c.id}`)).body.assigned_to).toBe(winner);
      }
    });

    it('a deleted case disappears from every read, including its timeline', async () => {
      const c = await create();
      expect((await s.as('admin', `/api/v1/cases/${c.id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await s.as('admin', `/api/v1/cases/${c.id}/events`)).status).toBe(404);
      expect((await s.as('admin', `/api/v1/cases/by-number/${c.case_number}`)).status).toBe(404);
      expect(
        (await s.as('admin', `/api/v1/cases/?case_number=${c.case_number}`)).body.cases,
      ).toEqual([]);
    });
  });

  describe('idempotent create', () => {
    it('a retried POST with the same key creates one case and returns the first', async () => {
      const key = `retry-${Date.now()}`;
      const send = () =>
        s.as('tech', '/api/v1/cases/', {
          method: 'POST',
          body: newCase({ doctor_id: key }),
          headers: { 'idempotency-key': key },
        });
      const first = await send();
      const second = await send();
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.body.id).toBe(first.body.id);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      const concurrent = await Promise.all(Array.from({ length: 5 }, send));
      expect(new Set(concurrent.map((r) => r.body.id))).toEqual(new Set([first.body.id]));
      expect((await s.as('tech', `/api/v1/cases/?doctor_id=${key}`)).body.pagination.total).toBe(1);
    });

    it('the same key with another body is 409; another user may use the same key', async () => {
      const key = `other-${Date.now()}`;
      await s.as('tech', '/api/v1/cases/', {
        method: 'POST',
        body: newCase(),
        headers: { 'idempotency-key': key },
      });
      const reused = await s.as('tech', '/api/v1/cases/', {
        method: 'POST',
        body: newCase({ product_id: 'different' }),
        headers: { 'idempotency-key': key },
      });
      expect(reused.status).toBe(409);
      const otherUser = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: newCase(),
        headers: { 'idempotency-key': key },
      });
      expect(otherUser.status).toBe(201);
      expect(otherUser.headers.get('idempotent-replayed')).toBeNull();
    });
  });

  describe('cursor pagination', () => {
    it('walks 10 000 cases while others are inserted: every pre-existing case exactly once', async () => {
      const lab = String(s.labs.lab2);
      const owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
      await owner.connect();
      let existing: number[];
      try {
        const r = await owner.query(
          `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, created_at)
           SELECT $1, 'walk-doc', 'p', 'other', now() - make_interval(secs => g / 7.0)
           FROM generate_series(1, 10000) g RETURNING id`,
          [lab],
        );
        existing = r.rows.map((x: { id: number }) => x.id);
      } finally {
        await owner.end();
      }
      let inserting = true;
      const inserted: number[] = [];
      const writer = (async () => {
        while (inserting) {
          const res = await s.as('lab2admin', '/api/v1/cases/', {
            method: 'POST',
            body: newCase({ doctor_id: 'walk-doc' }),
          });
          inserted.push(res.body.id);
        }
      })();
      const seen: number[] = [];
      let cursor = '';
      try {
        for (let page = 0; page < 200; page++) {
          const res = await s.as(
            'lab2admin',
            `/api/v1/cases/?doctor_id=walk-doc&limit=100&cursor=${cursor}`,
          );
          expect(res.status).toBe(200);
          seen.push(...res.body.cases.map((c: { id: number }) => c.id));
          if (!res.body.next_cursor) break;
          cursor = res.body.next_cursor;
        }
      } finally {
        inserting = false;
        await writer;
      }
      expect(inserted.length).toBeGreaterThan(0);
      const counts = new Map<number, number>();
      for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect(existing.filter((id) => counts.get(id) !== 1)).toEqual([]);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    });
  });

  describe('bulk status', () => {
    it('applies the rules per case and reports each', async () => {
      const pending = await caseIn('pending');
      const done = await caseIn('completed');
      const foreign = (
        await s.as('lab2admin', '/api/v1/cases/', { method: 'POST', body: newCase() })
      ).body.id;
      const res = await s.as('tech', '/api/v1/cases/bulk-status', {
        method: 'POST',
        body: { case_ids: [pending, done, foreign, 2147483000], status: 'in_progress' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ succeeded: 1, failed: 3 });
      expect(res.body.results).toEqual([
        { id: pending, ok: true, status: 'in_progress', version: expect.any(Number) },
        expect.objectContaining({ id: done, ok: false, code: 403 }),
        expect.objectContaining({ id: foreign, ok: false, code: 404 }),
        expect.objectContaining({ id: 2147483000, ok: false, code: 404 }),
      ]);
      const hold = await s.as('tech', '/api/v1/cases/bulk-status', {
        method: 'POST',
        body: { case_ids: [pending], status: 'on_hold' },
      });
      expect(hold.body.results[0]).toMatchObject({ ok: false, code: 400 });
      const illegal = await s.as('tech', '/api/v1/cases/bulk-status', {
        method: 'POST',
        body: { case_ids: [pending], status: 'pending' },
      });
      expect(illegal.body.results[0]).toMatchObject({
        ok: false,
        code: 409,
        allowed_transitions: ['on_hold', 'completed', 'cancelled'],
      });
      expect(
        (
          await s.as('viewer', '/api/v1/cases/bulk-status', {
            method: 'POST',
            body: { case_ids: [pending], status: 'on_hold', reason: 'x' },
          })
        ).status,
      ).toBe(403);
    });
  });
});
