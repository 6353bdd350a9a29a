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
});
