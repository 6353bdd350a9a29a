import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { eventually, startStack, type Stack, testDatabaseUrls } from '@lhcms/testing';
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

/**
 * Webhook delivery end to end: the real API (outbox dispatcher and delivery
 * worker on, short intervals) on the run's PostgreSQL, real receivers over
 * HTTP on 127.0.0.1. Subscriptions are inserted as the database owner.
 */
describe('webhook delivery', () => {
  let s: Stack;
  let owner: Client;
  const receivers: Receiver[] = [];
  const receiver = async (b?: Behaviour) => {
    const r = await Receiver.start(b);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    s = await startStack({
      env: {
        EVENTS_DISPATCHER: 'on',
        EVENTS_DISPATCH_INTERVAL_MS: '50',
        WEBHOOK_POLL_INTERVAL_MS: '50',
        WEBHOOK_TIMEOUT_MS: '1500',
        WEBHOOK_RETRY_BASE_MS: '100',
        WEBHOOK_RETRY_MAX_MS: '400',
        WEBHOOK_REPLAY_MAX: '5',
      },
    });
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    for (const r of receivers) await r.close().catch(() => undefined);
    await s?.close();
    await owner?.end();
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
    const held: Array<import('node:http').ServerResponse> = [];
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
});
