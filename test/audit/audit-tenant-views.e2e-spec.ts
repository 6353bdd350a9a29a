import { randomUUID } from 'node:crypto';
import { type HttpResponse, startStack, type Stack } from '@lhcms/testing';
import type { Client } from 'pg';
import { AuditSealer } from '../../apps/api/src/audit/audit-sealer';
import { nothingHeldBack, superuserClient } from './audit-test-helpers';

/** A case id no lab has (cases.id is an int4). */
const MISSING = 2_147_483_000;

/**
 * Tenant-safe audit views (issue 15): a lab's review API shows nothing that
 * counts other labs' events (no global seq or chain position, a verify view
 * of the lab's own events), and a case id of lab 1 tried from lab 2 (a 404,
 * the same as for a missing case) leaves a security event that lab 1's
 * admins see, while lab 2 sees nothing of lab 1.
 */
describe('tenant-safe audit views and cross-lab attempts (e2e)', () => {
  let s: Stack;
  let su: Client;
  let lab1: string;
  let lab2: string;
  let caseId: number;

  const newCase = (user: string, name = 'tenant-views') =>
    s
      .as(user, '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'tv-doc', product_id: 'p', case_type: 'other', case_name: name },
      })
      .then((r) => r.body.id as number);

  /** The 404 body without what differs per request. */
  const shape = (r: HttpResponse) => {
    const { request_id: _r, timestamp: _t, ...rest } = r.body as Record<string, unknown>;
    return { status: r.status, body: rest, type: r.headers.get('content-type') };
  };

  /** Lab 1's events about a case, as lab 1's admin reads them. */
  const lab1Events = async (id: number) => {
    const r = await s.as('admin', `/api/v1/audit-events?case_id=${id}&limit=500`);
    expect(r.status).toBe(200);
    return r.body.events as Array<Record<string, unknown>>;
  };

  /** Everything sealed: what was written so far is in the chain. */
  const sealAll = async () => {
    await nothingHeldBack(su);
    await s.api.app.get(AuditSealer).sealNow();
  };

  beforeAll(async () => {
    s = await startStack();
    su = await superuserClient();
    lab1 = String(s.labs.lab1);
    lab2 = String(s.labs.lab2);
    caseId = await newCase('admin');
  });
  afterAll(async () => {
    await su.end();
    await s.close();
  });

  describe('a case id of lab 1 tried from lab 2', () => {
    const routes: Array<[string, string, unknown, string]> = [
      ['GET', '/api/v1/cases/:id', undefined, 'read'],
      ['GET', '/api/v1/cases/:id/events', undefined, 'read'],
      ['PUT', '/api/v1/cases/:id', { case_name: 'x' }, 'update'],
      ['PATCH', '/api/v1/cases/:id/status', { status: 'on_hold' }, 'status_change'],
      ['PATCH', '/api/v1/cases/:id/stage', { stage: 'design' }, 'update'],
      ['DELETE', '/api/v1/cases/:id', undefined, 'delete'],
    ];

    it.each(routes)(
      '%s %s: the prober gets the 404 of a missing case; lab 1 sees the attempt, lab 2 nothing of lab 1',
      async (method, route, body, interaction) => {
        const path = (id: number) => route.replace(':id', String(id));
        const rid = `probe-${randomUUID()}`;
        const probe = await s.as('lab2admin', path(caseId), {
          method,
          body,
          headers: { 'x-request-id': rid },
        });
        const missing = await s.as('lab2admin', path(MISSING), { method, body });
        expect(probe.status).toBe(404);
        expect(shape(probe)).toEqual(shape(missing));

        const seen = (await lab1Events(caseId)).filter((e) => e.request_id === rid);
        expect(seen).toEqual([
          expect.objectContaining({
            lab_id: lab1,
            event_type: 'security',
            actor_user_id: '4',
            actor_lab_id: lab2,
            actor_type: 'user',
            interaction,
            http_method: method,
            route,
            resource_type: 'case',
            resource_id: String(caseId),
            outcome: 'denied',
            outcome_detail: 'CROSS_LAB_ATTEMPT',
            http_status: 404,
            patient_ref: null,
          }),
        ]);

        // Lab 2's own trail: its 404, the same as for a missing case, and nothing of lab 1.
        const mine = await s.as('lab2admin', `/api/v1/audit-events?case_id=${caseId}&limit=500`);
        expect(mine.status).toBe(200);
        const own = (mine.body.events as Array<Record<string, unknown>>).filter(
          (e) => e.request_id === rid,
        );
        expect(own).toEqual([
          expect.objectContaining({
            lab_id: lab2,
            event_type: 'rest',
            actor_lab_id: null,
            outcome: 'error',
            outcome_detail: 'CASE_NOT_FOUND',
            http_status: 404,
          }),
        ]);
        expect(mine.text).not.toContain(`"lab_id":"${lab1}"`);
        expect(mine.text).not.toContain('CROSS_LAB_ATTEMPT');
      },
    );

    it('bulk status: the foreign id reaches its owner only, as one event; the answer is that of a missing id', async () => {
      const own = await newCase('lab2admin');
      const rid = `probe-bulk-${randomUUID()}`;
      const res = await s.as('lab2admin', '/api/v1/cases/bulk-status', {
        method: 'POST',
        body: { case_ids: [own, caseId, MISSING], status: 'on_hold' },
        headers: { 'x-request-id': rid },
      });
      expect(res.status).toBe(200);
      const [, foreign, missing] = res.body.results;
      expect({ ...foreign, id: 0 }).toEqual({ ...missing, id: 0 });
      expect(foreign).toMatchObject({ ok: false, code: 404 });

      const seen = (await lab1Events(caseId)).filter((e) => e.request_id === rid);
      expect(seen).toEqual([
        expect.objectContaining({
          event_type: 'security',
          actor_user_id: '4',
          actor_lab_id: lab2,
          route: '/api/v1/cases/bulk-status',
          interaction: 'status_change',
          resource_id: String(caseId),
          outcome: 'denied',
          http_status: 404,
        }),
      ]);
      const rows = await su.query<{ lab_id: string; event_type: string }>(
        `SELECT lab_id, event_type FROM audit_events WHERE request_id = $1 AND event_type = 'security'`,
        [rid],
      );
      expect(rows.rows).toEqual([{ lab_id: lab1, event_type: 'security' }]);
    });

    it('a soft-deleted case of lab 1 still reports the attempt to lab 1; lab 1`s own 404s are not attempts', async () => {
      const deleted = await newCase('admin');
      expect((await s.as('admin', `/api/v1/cases/${deleted}`, { method: 'DELETE' })).status).toBe(
        204,
      );
      const rid = `probe-deleted-${randomUUID()}`;
      const probe = await s.as('lab2admin', `/api/v1/cases/${deleted}`, {
        headers: { 'x-request-id': rid },
      });
      expect(probe.status).toBe(404);
      const ownRid = `own-deleted-${randomUUID()}`;
      const own = await s.as('admin', `/api/v1/cases/${deleted}`, {
        headers: { 'x-request-id': ownRid },
      });
      expect(own.status).toBe(404);

      const events = await lab1Events(deleted);
      expect(events.filter((e) => e.request_id === rid)).toEqual([
        expect.objectContaining({ event_type: 'security', actor_lab_id: lab2 }),
      ]);
      expect(events.filter((e) => e.request_id === ownRid)).toEqual([
        expect.objectContaining({ event_type: 'rest', outcome_detail: 'CASE_NOT_FOUND' }),
      ]);
    });

    it('the export shows the attempt as a FHIR Security Alert naming the actor`s lab', async () => {
      const res = await s.as('admin', `/api/v1/audit-events/export?case_id=${caseId}`);
      expect(res.status).toBe(200);
      const alert = res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((e) => e.type.code === '110113');
      expect(alert).toMatchObject({
        type: { display: 'Security Alert' },
        outcome: '4',
        source: { site: `lab/${lab1}` },
        extension: expect.arrayContaining([{ url: 'urn:lhcms:actor-lab', valueString: lab2 }]),
      });
    });
  });

  describe('what a lab admin sees of the shared chain', () => {
    it('events carry opaque ids, no seq or chain position; cursors are opaque and bound to the lab', async () => {
      await sealAll();
      const read = () => s.as('admin', `/api/v1/audit-events?case_id=${caseId}&limit=2`);
      const first = await read();
      expect(first.status).toBe(200);
      expect(first.text).not.toMatch(/"seq"|"position"|"prev_hash"|"first_position"/);
      for (const e of first.body.events) {
        expect(e.id).toMatch(/^[0-9a-f]{32}$/);
        expect(e.chain).toEqual({ row_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      }
      const cursor: string = first.body.next_cursor;
      expect(cursor).toEqual(expect.any(String));
      const seqs = (
        await su.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_events`)
      ).rows.map((r) => r.seq);
      const plain = Buffer.from(cursor, 'base64url').toString('latin1');
      expect(seqs.some((seq) => plain.includes(`|${seq}`))).toBe(false);

      // Another lab's activity changes nothing a lab-1 event shows.
      await newCase('lab2admin', 'other lab activity');
      const again = await s.as(
        'admin',
        `/api/v1/audit-events?case_id=${caseId}&limit=2&cursor=${cursor}`,
      );
      expect(again.status).toBe(200);
      const repeat = await s.as('admin', `/api/v1/audit-events?case_id=${caseId}&limit=4`);
      const ids = repeat.body.events.map((e: { id: string }) => e.id);
      expect(ids).toEqual(
        [...first.body.events, ...again.body.events].map((e: { id: string }) => e.id),
      );

      // A cursor of lab 1 means nothing to lab 2.
      const foreign = await s.as('lab2admin', `/api/v1/audit-events?cursor=${cursor}`);
      expect(foreign.status).toBe(400);
      expect(foreign.body.errors).toEqual({ cursor: 'is not a cursor this API issued' });
    });

    it('verify counts only the lab`s own events: another lab`s activity between two reads changes nothing', async () => {
      const labChained = async (excludeRequest: string) =>
        (
          await su.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM audit_events e JOIN audit_chain c ON c.seq = e.seq
             WHERE e.lab_id = $1 AND e.request_id IS DISTINCT FROM $2`,
            [lab1, excludeRequest],
          )
        ).rows[0].n;
      const chainSize = async () =>
        (await su.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_chain`)).rows[0].n;

      await sealAll();
      const rid = `verify-${randomUUID()}`;
      const before = await s.as('admin', '/api/v1/audit-events/verify', {
        headers: { 'x-request-id': rid },
      });
      expect(before.status).toBe(200);
      expect(before.body).toEqual({
        status: 'intact',
        chain_id: expect.any(String),
        scope: 'lab',
        lab_id: lab1,
        entries_checked: await labChained(rid),
      });
      const sizeBefore = await chainSize();

      for (let i = 0; i < 3; i++) await newCase('lab2admin', `lab 2 activity ${i}`);
      await s.as('lab2admin', '/api/v1/cases/');
      await sealAll();
      expect(await chainSize()).toBeGreaterThanOrEqual(sizeBefore + 4);

      const after = await s.as('admin', '/api/v1/audit-events/verify');
      expect(after.status).toBe(200);
      // Lab 1 did one thing in between: the first verify call, itself audited.
      expect(after.body).toEqual({
        ...before.body,
        entries_checked: before.body.entries_checked + 1,
      });
    });
  });
});
