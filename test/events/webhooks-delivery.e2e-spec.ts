import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { loadEnv } from '@lhcms/config';
import {
  eventually,
  type OwnTestDatabase,
  ownTestDatabase,
  startStack,
  type Stack,
} from '@lhcms/testing';
import { pruneOutbox } from '../../apps/api/src/events';
import {
  type Behaviour,
  cipherOf,
  createCase,
  newSecret,
  Receiver,
  STATUS_WALK,
  subscribe,
  verify,
  walkCase,
} from './webhook-test-helpers';

/** The receiver outage of the fault test (issue 17: 60 s). */
const OUTAGE_MS = 60_000;

/**
 * Webhook delivery end to end: the real API (outbox dispatcher and delivery
 * worker on, short intervals) on the run's PostgreSQL, real receivers over
 * HTTP on 127.0.0.1. Subscriptions are inserted as the database owner.
 */
describe('webhook delivery', () => {
  let db: OwnTestDatabase; // the dispatcher runs: a database of its own (docs/testing.md)
  let s: Stack;
  let owner: Client;
  const receivers: Receiver[] = [];
  const receiver = async (b?: Behaviour) => {
    const r = await Receiver.start(b);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    db = await ownTestDatabase('lhcms_webhooks');
    s = await startStack({
      env: {
        ...db.env,
        EVENTS_DISPATCHER: 'on',
        WEBHOOK_WORKER: 'on',
        EVENTS_DISPATCH_INTERVAL_MS: '50',
        WEBHOOK_POLL_INTERVAL_MS: '50',
        WEBHOOK_TIMEOUT_MS: '1500',
        WEBHOOK_RETRY_BASE_MS: '100',
        WEBHOOK_RETRY_MAX_MS: '400',
        WEBHOOK_REPLAY_MAX: '5',
      },
    });
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    for (const r of receivers) await r.close().catch(() => undefined);
    await s?.close();
    await owner?.end();
    await db?.drop();
  });

  // A test's webhooks stop with it (a receiver that always fails would keep being retried).
  afterEach(async () => {
    await owner.query(`UPDATE webhook_subscriptions SET active = false WHERE lab_id = $1`, [
      lab1(),
    ]);
    await owner.query(
      `UPDATE webhook_deliveries SET status = 'dead' WHERE lab_id = $1 AND status = 'pending'`,
      [lab1()],
    );
  });

  const admin = (path: string, init: { method: string; body?: unknown }) =>
    s.as('admin', path, init);
  const lab1 = () => String(s.labs.lab1);
  const deliveries = async (subscriptionId: string) =>
    (
      await owner.query<{
        id: string;
        event_id: string;
        case_id: number;
        status: string;
        attempts: number;
        origin: string;
        last_status_code: number | null;
        last_error: string | null;
      }>(
        `SELECT id::text, event_id::text, case_id, status, attempts, origin, last_status_code, last_error
           FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY position, id`,
        [subscriptionId],
      )
    ).rows;

  it('signs each delivery per Standard Webhooks (verified with the standardwebhooks package) and sends exactly the outbox event', async () => {
    const r = await receiver();
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url);
    const caseId = await createCase(admin);
    const got = await eventually(async () => r.ofCase(caseId)[0], 10_000, 'the delivery');
    expect(verify(sub.secret, got)).toMatchObject({ id: got.id, type: 'case.created' });
    // Another secret does not verify.
    expect(() => verify(newSecret(), got)).toThrow();
    const ev = (
      await owner.query(
        `SELECT id::text, type, lab_id, case_id, case_number, seq::int AS seq,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at, payload
           FROM case_outbox WHERE case_id = $1`,
        [caseId],
      )
    ).rows[0];
    expect(got.body).toBe(JSON.stringify(ev));
    expect(Object.keys(JSON.parse(got.body))).toEqual([
      'id',
      'type',
      'lab_id',
      'case_id',
      'case_number',
      'seq',
      'occurred_at',
      'payload',
    ]);
    expect(got.id).toBe(ev.id);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['user-agent']).toMatch(/^LHCMS-Webhooks\//);
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(30);
    expect(got.signature).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(got.body).not.toContain('WH-PATIENT');
    await eventually(
      async () => (await deliveries(sub.id))[0]?.status === 'delivered',
      5000,
      'delivered in the log',
    );
    expect((await deliveries(sub.id))[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      origin: 'live',
      last_status_code: 200,
      last_error: null,
    });
  });

  it('delivers each case in order under several concurrent cases, and only the types subscribed to', async () => {
    const r = await receiver(async () => {
      await sleep(Math.random() * 30);
      return 200;
    });
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
      events: ['case.created', 'case.status_changed'],
    });
    const cases = await Promise.all(Array.from({ length: 6 }, () => createCase(admin)));
    await Promise.all(cases.map((c) => walkCase(admin, c)));
    // Not subscribed: a stage move (case.stage_changed) and an update (case.updated).
    const perCase = 1 + STATUS_WALK.length;
    await eventually(
      async () => cases.every((c) => r.ofCase(c).length >= perCase),
      20_000,
      'every event',
    );
    await sleep(300);
    for (const c of cases) {
      const got = r.ofCase(c);
      expect(got.map((g) => g.event.seq)).toEqual(Array.from({ length: perCase }, (_, i) => i + 1));
      expect(got.map((g) => g.event.type)).toEqual([
        'case.created',
        ...STATUS_WALK.map(() => 'case.status_changed'),
      ]);
    }
    expect(r.maxConcurrentPerEvent).toBe(1);
    expect((await deliveries(sub.id)).every((d) => d.status === 'delivered')).toBe(true);
  });

  it('retries after a 500 with the same webhook-id, then succeeds; the log records attempts and the last status', async () => {
    const r = await receiver((_, __, n) => (n <= 2 ? 500 : 204));
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, { events: ['case.created'] });
    const caseId = await createCase(admin);
    await eventually(
      async () => (await deliveries(sub.id))[0]?.status === 'delivered',
      15_000,
      'delivered after retries',
    );
    const got = r.ofCase(caseId);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((g) => g.id)).size).toBe(1);
    for (const g of got) expect(verify(sub.secret, g)).toBeTruthy();
    expect((await deliveries(sub.id))[0]).toMatchObject({
      attempts: 3,
      last_status_code: 204,
      last_error: null,
    });
  });
  it('a receiver answering after the timeout (WEBHOOK_TIMEOUT_MS) is a failed attempt, retried', async () => {
    const held: ServerResponse[] = [];
    const r = await receiver((_, res, n) => {
      if (n > 1) return 200;
      held.push(res); // the first attempt: answered 30 s later (by then the client is gone)
      setTimeout(() => res.destroyed || res.writeHead(200).end(), 30_000).unref();
      return 'handled';
    });
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, { events: ['case.created'] });
    const caseId = await createCase(admin);
    await eventually(async () => r.ofCase(caseId).length >= 1, 10_000, 'the first attempt');
    const first = await eventually(
      async () => (await deliveries(sub.id)).find((d) => d.last_error === 'timeout'),
      6000,
      'the timeout recorded',
    );
    expect(first.last_status_code).toBeNull();
    await eventually(
      async () => (await deliveries(sub.id))[0]?.status === 'delivered',
      10_000,
      'the retry delivered',
    );
    expect(new Set(r.ofCase(caseId).map((g) => g.id)).size).toBe(1);
    for (const res of held) res.destroy();
  });

  it('never follows a redirect: a 302 is a failed attempt and the target hears nothing', async () => {
    const target = await receiver();
    const r = await receiver((_, res) => {
      res.writeHead(302, { location: target.url }).end();
      return 'handled';
    });
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, { events: ['case.created'] });
    const caseId = await createCase(admin);
    const d = await eventually(
      async () => (await deliveries(sub.id)).find((x) => x.last_status_code === 302),
      10_000,
      'the 302 recorded',
    );
    expect(d.status).toBe('pending');
    expect(d.last_error).toBe('redirect not followed (HTTP 302)');
    await sleep(500);
    expect(r.ofCase(caseId).length).toBeGreaterThanOrEqual(1);
    expect(target.got).toHaveLength(0);
    await owner.query(`UPDATE webhook_subscriptions SET active = false WHERE id = $1`, [sub.id]);
    await owner.query(`UPDATE webhook_deliveries SET status = 'dead' WHERE subscription_id = $1`, [
      sub.id,
    ]);
  });

  it('reads at most WEBHOOK_RESPONSE_MAX_BYTES of an answer: a 200 streaming 100 MB is delivered at once, never buffered', async () => {
    let written = 0;
    let closedAt = 0;
    const r = await receiver((_, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const total = 100 * 1024 * 1024;
      const pump = (): void => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      res.once('close', () => (closedAt = Date.now()));
      pump();
      return 'handled';
    });
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, { events: ['case.created'] });
    const started = Date.now();
    await createCase(admin);
    await eventually(
      async () => (await deliveries(sub.id))[0]?.status === 'delivered',
      10_000,
      'delivered',
    );
    await eventually(async () => closedAt > 0, 5000, 'the client to close the connection');
    expect(closedAt - started).toBeLessThan(5000);
    // Far less than the 100 MB offered: the socket buffers plus the 64 KiB read.
    expect(written).toBeLessThan(20 * 1024 * 1024);
    expect((await deliveries(sub.id))[0]).toMatchObject({ attempts: 1, last_status_code: 200 });
  });

  it('dead-letters a delivery that fails to the end of the retry window; the next delivery of the case proceeds', async () => {
    const r = await receiver((g) => (g.event.type === 'case.created' ? 503 : 200));
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
      events: ['case.created', 'case.status_changed'],
    });
    const caseId = await createCase(admin);
    await eventually(async () => r.ofCase(caseId).length >= 1, 10_000, 'a first attempt');
    await walkCase(admin, caseId, 1);
    await sleep(500);
    // Head of line: the status change waits behind the failing creation.
    expect(r.ofCase(caseId).every((g) => g.event.type === 'case.created')).toBe(true);
    // The window (WEBHOOK_RETRY_HOURS, 24 h) is over for it: made 25 hours ago.
    await owner.query(
      `UPDATE webhook_deliveries SET created_at = created_at - interval '25 hours'
        WHERE subscription_id = $1 AND case_id = $2 AND status = 'pending'
          AND event_id = (SELECT id FROM case_outbox WHERE case_id = $2 AND seq = 1)`,
      [sub.id, caseId],
    );
    await eventually(
      async () => r.ofCase(caseId).some((g) => g.event.type === 'case.status_changed'),
      10_000,
      'the next event',
    );
    const log = await deliveries(sub.id);
    expect(log.map((d) => d.status)).toEqual(['dead', 'delivered']);
    expect(log[0]).toMatchObject({ last_status_code: 503, last_error: 'HTTP 503' });
  });

  it('an inactive webhook is paused: its pending deliveries wait, and go out in order when it is active again', async () => {
    let failing = true;
    const r = await receiver(() => (failing ? 503 : 200));
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
      events: ['case.created', 'case.status_changed'],
    });
    const caseId = await createCase(admin);
    await walkCase(admin, caseId, 2);
    await eventually(async () => r.ofCase(caseId).length >= 1, 10_000, 'a failed attempt');
    // Every event fanned out (an event dispatched while the webhook is inactive is not for it).
    await eventually(async () => (await deliveries(sub.id)).length === 3, 5000, 'three rows');
    await owner.query(`UPDATE webhook_subscriptions SET active = false WHERE id = $1`, [sub.id]);
    await sleep(300); // an attempt in flight ends
    failing = false;
    const seen = r.got.length;
    await sleep(1000);
    expect(r.got).toHaveLength(seen);
    expect((await deliveries(sub.id)).every((d) => d.status === 'pending')).toBe(true);
    await owner.query(`UPDATE webhook_subscriptions SET active = true WHERE id = $1`, [sub.id]);
    await eventually(
      async () => (await deliveries(sub.id)).every((d) => d.status === 'delivered'),
      10_000,
      'delivered after re-activation',
    );
    const ok = r.ofCase(caseId).filter((g, i, all) => all.findIndex((x) => x.id === g.id) === i);
    expect(ok.map((g) => g.event.seq)).toEqual([1, 2, 3]);
  });

  it('a rolled-back change emits nothing: no event, no delivery', async () => {
    const r = await receiver();
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url);
    const caseId = await createCase(admin);
    await eventually(async () => r.ofCase(caseId).length === 1, 10_000, 'case.created');
    // Refused over HTTP (412 stale version, 409 illegal move): nothing is written.
    expect(
      (
        await s.as('admin', `/api/v1/cases/${caseId}/status`, {
          method: 'PATCH',
          headers: { 'if-match': '"99"' },
          body: { status: 'in_progress' },
        })
      ).status,
    ).toBe(412);
    expect(
      (
        await admin(`/api/v1/cases/${caseId}/status`, {
          method: 'PATCH',
          body: { status: 'completed' },
        })
      ).status,
    ).toBe(409);
    // A change that reaches the database and rolls back: its event goes with it.
    await owner.query('BEGIN');
    await owner.query(
      `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id, from_status, to_status)
       VALUES ($1, $2, 'status_changed', 'test', 'pending', 'in_progress')`,
      [lab1(), caseId],
    );
    expect(
      (await owner.query(`SELECT count(*)::int AS n FROM case_outbox WHERE case_id = $1`, [caseId]))
        .rows[0].n,
    ).toBe(2);
    await owner.query('ROLLBACK');
    await sleep(800);
    expect(r.ofCase(caseId).map((g) => g.event.type)).toEqual(['case.created']);
    expect(await deliveries(sub.id)).toHaveLength(1);
  });

  it('signs with both secrets while the previous one is unexpired (a receiver with either verifies), with one after it expired', async () => {
    const r = await receiver();
    const current = newSecret();
    const previous = newSecret();
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
      events: ['case.created', 'case.status_changed'],
      secret: current,
      previousSecret: previous,
    });
    const caseId = await createCase(admin);
    const first = await eventually(async () => r.ofCase(caseId)[0], 10_000, 'a delivery');
    expect(first.signature.split(' ')).toHaveLength(2);
    expect(verify(current, first)).toBeTruthy();
    expect(verify(previous, first)).toBeTruthy();
    await owner.query(
      `UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [sub.id],
    );
    await walkCase(admin, caseId, 1);
    const second = await eventually(async () => r.ofCase(caseId)[1], 10_000, 'the next delivery');
    expect(second.signature.split(' ')).toHaveLength(1);
    expect(verify(current, second)).toBeTruthy();
    expect(() => verify(previous, second)).toThrow();
  });
  describe('the delivery log, redeliver and replay (lab admins, the lab of X-Lab-Id)', () => {
    let r: Receiver;
    let sub: { id: string; secret: string };
    let caseId: number;
    const base = () => `/api/v1/webhooks/${sub.id}`;
    // The suite's afterEach pauses every webhook of the lab: this one works across tests.
    beforeEach(async () => {
      if (sub) {
        await owner.query(`UPDATE webhook_subscriptions SET active = true WHERE id = $1`, [sub.id]);
      }
    });

    beforeAll(async () => {
      r = await receiver();
      sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
        events: ['case.created', 'case.status_changed'],
      });
      caseId = await createCase(admin);
      await walkCase(admin, caseId, 2);
      await eventually(async () => r.ofCase(caseId).length === 3, 10_000, 'three deliveries');
      await eventually(
        async () => (await deliveries(sub.id)).every((d) => d.status === 'delivered'),
        5000,
        'logged',
      );
    });

    it('lists deliveries newest first in keyset pages, filtered by status; no response body anywhere', async () => {
      const all = await admin(`${base()}/deliveries`, { method: 'GET' });
      expect(all.status).toBe(200);
      expect(all.body.deliveries).toHaveLength(3);
      expect(all.body.next_cursor).toBeNull();
      const ids = all.body.deliveries.map((d: { id: string }) => d.id);
      // Newest first by id (a UUID v7: to the millisecond; rows made together, in any order).
      expect([...ids].sort().reverse()).toEqual(ids);
      expect(all.body.deliveries.map((d: { event_id: string }) => d.event_id).sort()).toEqual(
        r
          .ofCase(caseId)
          .map((g) => g.id)
          .sort(),
      );
      expect(all.body.deliveries[0]).toMatchObject({
        subscription_id: sub.id,
        case_id: caseId,
        origin: 'live',
        status: 'delivered',
        attempts: 1,
        next_attempt_at: null,
        last_status_code: 200,
        last_error: null,
      });
      const p1 = await admin(`${base()}/deliveries?limit=2`, { method: 'GET' });
      expect(p1.body.deliveries).toHaveLength(2);
      expect(p1.body.next_cursor).toEqual(expect.any(String));
      const p2 = await admin(`${base()}/deliveries?limit=2&cursor=${p1.body.next_cursor}`, {
        method: 'GET',
      });
      expect(p2.body.deliveries.map((d: { id: string }) => d.id)).toEqual([ids[2]]);
      expect(p2.body.next_cursor).toBeNull();
      const dead = await admin(`${base()}/deliveries?status=dead`, { method: 'GET' });
      expect(dead.body.deliveries).toHaveLength(0);
      for (const q of [
        'status=bogus',
        'limit=0',
        'limit=x',
        'cursor=not*a*cursor',
        'status=dead&status=pending',
      ]) {
        const bad = await admin(`${base()}/deliveries?${q}`, { method: 'GET' });
        expect({ q, status: bad.status, fields: Object.keys(bad.body.errors ?? {}) }).toEqual({
          q,
          status: 400,
          fields: [q.split('=')[0]],
        });
      }
    });

    it('redeliver: a new delivery of the same event (same webhook-id), 202, audited', async () => {
      const log = (await admin(`${base()}/deliveries`, { method: 'GET' })).body.deliveries;
      const oldest = log[2];
      const res = await admin(`${base()}/deliveries/${oldest.id}/redeliver`, {
        method: 'POST',
        body: {},
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        event_id: oldest.event_id,
        origin: 'redeliver',
        status: 'pending',
      });
      expect(res.body.id).not.toBe(oldest.id);
      await eventually(
        async () => r.got.filter((g) => g.id === oldest.event_id).length === 2,
        10_000,
        'the redelivery',
      );
      const again = r.got.filter((g) => g.id === oldest.event_id);
      expect(again[1].body).toBe(again[0].body);
      expect(verify(sub.secret, again[1])).toBeTruthy();
      const audit = await owner.query(
        `SELECT interaction, resource_type, resource_id FROM audit_events
          WHERE lab_id = $1 AND resource_type = 'webhook_delivery' AND resource_id = $2`,
        [lab1(), res.body.id],
      );
      expect(audit.rows).toEqual([
        { interaction: 'create', resource_type: 'webhook_delivery', resource_id: res.body.id },
      ]);
    });

    it("replay: new deliveries of the window's events, 202 with the count, audited; bounded; bad windows are 400 and make nothing", async () => {
      const first = (
        await owner.query<{ at: Date }>(
          `SELECT min(occurred_at) AS at FROM case_outbox WHERE case_id = $1`,
          [caseId],
        )
      ).rows[0].at;
      const before = (await deliveries(sub.id)).length;
      const bad = async (body: unknown, message: RegExp) => {
        const res = await admin(`${base()}/replay`, { method: 'POST', body });
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.message).toMatch(message);
      };
      await bad({ since: new Date(Date.now() + 3_600_000).toISOString() }, /Invalid replay window/);
      await bad(
        { since: first.toISOString(), until: first.toISOString() },
        /Invalid replay window/,
      );
      await bad({ since: 'yesterday' }, /validation failed/);
      await bad({}, /validation failed/);
      await bad({ since: first.toISOString(), extra: 1 }, /validation failed/);
      expect(await deliveries(sub.id)).toHaveLength(before);

      const res = await admin(`${base()}/replay`, {
        method: 'POST',
        body: { since: first.toISOString() },
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ deliveries: 3, since: first.toISOString() });
      await eventually(async () => r.ofCase(caseId).length >= 3 + 1 + 3, 10_000, 'the replay');
      const replayed = r.ofCase(caseId).slice(-3);
      expect(replayed.map((g) => g.event.seq)).toEqual([1, 2, 3]);
      const log = await deliveries(sub.id);
      expect(log.filter((d) => d.origin === 'replay')).toHaveLength(3);
      const audit = await owner.query(
        `SELECT count(*)::int AS n FROM audit_events
          WHERE lab_id = $1 AND resource_type = 'webhook_replay' AND interaction = 'create'
            AND resource_id = $2 AND outcome = 'success'`,
        [lab1(), sub.id],
      );
      // The refused ones are on record too, as failures.
      expect(audit.rows[0].n).toBe(1);

      // More events than WEBHOOK_REPLAY_MAX (5 in this suite) in the window: refused, nothing made.
      const more = await createCase(admin);
      await walkCase(admin, more);
      // Replay takes dispatched events: wait until these five are (they reach the receiver).
      await eventually(async () => r.ofCase(more).length === 5, 10_000, 'five more events');
      const made = (await deliveries(sub.id)).length;
      await bad({ since: first.toISOString() }, /more events than one replay/);
      expect(await deliveries(sub.id)).toHaveLength(made);
    });

    it("another lab's webhook or delivery is not found (404); only lab admins may call (403)", async () => {
      const log = (await admin(`${base()}/deliveries`, { method: 'GET' })).body.deliveries;
      const lab2 = String(s.labs.lab2);
      const other = await subscribe(owner, cipherOf(s), lab2, r.url, { events: ['case.deleted'] });
      const as2 = (path: string, method = 'GET', body?: unknown) =>
        s.as('lab2admin', path, {
          method,
          body: method === 'POST' ? (body ?? {}) : undefined,
          headers: { 'x-lab-id': lab2 },
        });
      for (const [path, method, body] of [
        [`${base()}/deliveries`, 'GET'],
        [`${base()}/deliveries/${log[0].id}/redeliver`, 'POST'],
        [`${base()}/replay`, 'POST', { since: new Date(Date.now() - 60_000).toISOString() }],
        // Their own webhook with a delivery of lab 1.
        [`/api/v1/webhooks/${other.id}/deliveries/${log[0].id}/redeliver`, 'POST'],
      ] as Array<[string, string, unknown?]>) {
        const res = await as2(path, method, body);
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
      expect((await as2(`/api/v1/webhooks/${other.id}/deliveries`)).status).toBe(200);
      for (const path of [
        '/api/v1/webhooks/not-a-uuid/deliveries',
        `${base()}/deliveries/not-a-uuid/redeliver`,
        `${base()}/deliveries/${other.id}/redeliver`,
      ]) {
        const method = path.endsWith('redeliver') ? 'POST' : 'GET';
        const body = method === 'POST' ? {} : undefined;
        expect({ path, status: (await admin(path, { method, body })).status }).toEqual({
          path,
          status: 404,
        });
      }
      const tech = await s.as('tech', `${base()}/deliveries`);
      expect(tech.status).toBe(403);
      const techReplay = await s.as('tech', `${base()}/replay`, {
        method: 'POST',
        body: { since: new Date(Date.now() - 60_000).toISOString() },
      });
      expect(techReplay.status).toBe(403);
    });
  });

  it('the outbox prune keeps an event a delivery still waits to send', async () => {
    const r = await receiver(() => 500);
    const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, { events: ['case.created'] });
    const caseId = await createCase(admin);
    await eventually(async () => r.ofCase(caseId).length >= 1, 10_000, 'an attempt');
    const env = loadEnv({
      NODE_ENV: 'test',
      ...db.env,
    });
    // Dispatched long ago, and pruned against a clock of that time: only this event is past the cutoff.
    const long = { now: new Date('2001-01-03T00:00:00Z') };
    await owner.query(
      `UPDATE case_outbox SET dispatched_at = '2001-01-01T00:00:00Z' WHERE case_id = $1`,
      [caseId],
    );
    try {
      expect((await pruneOutbox(env, 1, { ...long, dryRun: true })).events).toBe(0);
      expect((await pruneOutbox(env, 1, long)).events).toBe(0);
      expect(await deliveries(sub.id)).toHaveLength(1);
      await owner.query(
        `UPDATE webhook_deliveries SET status = 'dead' WHERE subscription_id = $1`,
        [sub.id],
      );
      expect((await pruneOutbox(env, 1, long)).events).toBe(1);
      expect(await deliveries(sub.id)).toHaveLength(0);
    } finally {
      await owner.query(
        `UPDATE case_outbox SET dispatched_at = now() WHERE case_id = $1 AND dispatched_at < '2002-01-01'`,
        [caseId],
      );
    }
  });

  it(
    `a receiver down for ${OUTAGE_MS / 1000} s, then back: every event delivered once (per 2xx), in per-case order, none lost`,
    async () => {
      const r = await receiver();
      const sub = await subscribe(owner, cipherOf(s), lab1(), r.url, {
        events: ['case.created', 'case.status_changed'],
      });
      const port = r.port;
      await r.close();
      const downAt = Date.now();
      const cases = await Promise.all(Array.from({ length: 4 }, () => createCase(admin)));
      await Promise.all(cases.map((c) => walkCase(admin, c)));
      await eventually(
        async () => (await deliveries(sub.id)).some((d) => d.last_error === 'connection refused'),
        10_000,
        'failed attempts',
      );
      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
      expect(r.got).toHaveLength(0);
      await r.listen(port);
      const perCase = 1 + STATUS_WALK.length;
      await eventually(
        async () => (await deliveries(sub.id)).every((d) => d.status === 'delivered'),
        30_000,
        'every delivery after the outage',
      );
      expect(await deliveries(sub.id)).toHaveLength(cases.length * perCase);
      for (const c of cases) {
        expect(r.ofCase(c).map((g) => g.event.seq)).toEqual(
          Array.from({ length: perCase }, (_, i) => i + 1),
        );
      }
      expect([...r.countById().values()].every((n) => n === 1)).toBe(true);
    },
    OUTAGE_MS + 90_000,
  );
});
