import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import {
  eventually,
  type OwnTestDatabase,
  ownTestDatabase,
  request,
  startStack,
  type Stack,
} from '@lhcms/testing';
import {
  cipherOf,
  createCase,
  Receiver,
  STATUS_WALK,
  subscribe,
  verify,
  walkCase,
} from '../events/webhook-test-helpers';
import { type ApiProcess, startApiProcess } from './fault-harness';

/** Replica settings: short rounds; a 4 s timeout, so the lease is 9 s (timeout + 5 s). */
const REPLICA_ENV = {
  EVENTS_DISPATCHER: 'on',
  WEBHOOK_WORKER: 'on',
  EVENTS_DISPATCH_INTERVAL_MS: '50',
  WEBHOOK_POLL_INTERVAL_MS: '50',
  WEBHOOK_TIMEOUT_MS: '4000',
  WEBHOOK_LEASE_MS: '1000',
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_RETRY_MAX_MS: '400',
  // Two at a time each: with eight cases waiting, both replicas get work.
  WEBHOOK_CONCURRENCY: '2',
  LOG_LEVEL: 'warn',
};
const LEASE_MS = 9000;

/**
 * Webhook delivery with several replicas: the API as production runs it (its
 * own processes, `node dist/apps/api/src/main.js`) on one database, each with
 * the dispatcher and the delivery worker. No delivery is sent by two replicas
 * at once, a case's order holds across them, and a replica killed (SIGKILL)
 * mid-delivery loses nothing: its lease expires and another replica sends
 * again, with the same webhook-id. A database of its own: no other suite's
 * worker may take (or time) these deliveries, and the replicas dispatch no
 * other suite's events.
 */
describe('webhook delivery across replicas', () => {
  let db: OwnTestDatabase;
  let helper: Stack; // its PhiCipher encrypts the subscriptions' secrets (its own dispatcher is off)
  let owner: Client;
  const procs: ApiProcess[] = [];
  const receivers: Receiver[] = [];

  const spawnReplica = async (): Promise<ApiProcess> => {
    const p = await startApiProcess({
      databaseUrl: db.appUrl,
      ownerUrl: db.ownerUrl,
      env: REPLICA_ENV,
    });
    procs.push(p);
    // Ready: connected to the database.
    await eventually(
      async () => (await fetch(`${p.url}/health/ready`).catch(() => undefined))?.status === 200,
      30_000,
      'the replica to be ready',
    );
    return p;
  };
  const caller =
    (p: ApiProcess) => async (path: string, init: { method: string; body?: unknown }) =>
      request(p.url, path, { ...init, token: await p.token('admin') });
  /** lhcms_webhook_deliveries_total{outcome="delivered"} of one replica. */
  const deliveredBy = async (p: ApiProcess): Promise<number> => {
    const text = await (await fetch(`${p.url}/metrics`)).text();
    const m = /^lhcms_webhook_deliveries_total\{outcome="delivered"\} (\d+)/m.exec(text);
    return Number(m?.[1] ?? NaN);
  };
  const deliveries = async (subscriptionId: string) =>
    (
      await owner.query<{ status: string; attempts: number; event_id: string }>(
        `SELECT status, attempts, event_id::text FROM webhook_deliveries
          WHERE subscription_id = $1 ORDER BY position`,
        [subscriptionId],
      )
    ).rows;

  beforeAll(async () => {
    db = await ownTestDatabase('lhcms_webhooks_replicas');
    helper = await startStack({ env: db.env });
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    for (const r of receivers) await r.close().catch(() => undefined);
    await owner?.end();
    await helper?.close();
    await db?.drop();
  });

  it('two replicas on one database: every event delivered once, never sent by both at once, in per-case order', async () => {
    const [a, b] = [await spawnReplica(), await spawnReplica()];
    const r = await Receiver.start(async () => {
      await sleep(Math.random() * 40);
      return 200;
    });
    receivers.push(r);
    const sub = await subscribe(owner, cipherOf(helper), a.labs.lab1, r.url, {
      events: ['case.created', 'case.status_changed'],
    });
    const call = caller(a);
    const cases = await Promise.all(Array.from({ length: 8 }, () => createCase(call)));
    await Promise.all(cases.map((c) => walkCase(call, c)));
    const perCase = 1 + STATUS_WALK.length;
    await eventually(
      async () => {
        const log = await deliveries(sub.id);
        return log.length === cases.length * perCase && log.every((d) => d.status === 'delivered');
      },
      60_000,
      'every delivery',
    );
    // Fast answers, no lease ever expired: exactly one request per event.
    const counts = r.countById();
    expect(counts.size).toBe(cases.length * perCase);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(r.maxConcurrentPerEvent).toBe(1);
    for (const c of cases) {
      expect(r.ofCase(c).map((g) => g.event.seq)).toEqual(
        Array.from({ length: perCase }, (_, i) => i + 1),
      );
    }
    expect((await deliveries(sub.id)).every((d) => d.attempts === 1)).toBe(true);
    // Both replicas sent some (each of them at most two at a time).
    const [byA, byB] = [await deliveredBy(a), await deliveredBy(b)];
    expect(byA + byB).toBe(cases.length * perCase);
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);
  }, 120_000);

  it('a replica SIGKILLed mid-delivery: after its lease expires another replica sends again, with the same webhook-id', async () => {
    // One replica left (the other stops cleanly): it takes the delivery.
    const [a, b] = procs;
    await b.stop();
    const held: ServerResponse[] = [];
    const r = await Receiver.start((_, res, n) => {
      if (n === 1) {
        held.push(res); // the first attempt is never answered: the replica dies holding it
        return 'handled';
      }
      return 200;
    });
    receivers.push(r);
    const sub = await subscribe(owner, cipherOf(helper), a.labs.lab1, r.url, {
      events: ['case.created'],
    });
    const caseId = await createCase(caller(a));
    const first = await eventually(async () => r.ofCase(caseId)[0], 15_000, 'the first attempt');
    a.proc.child.kill('SIGKILL');
    expect((await a.proc.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    const leased = (await deliveries(sub.id))[0];
    expect(leased).toMatchObject({ status: 'pending', attempts: 1 });

    await spawnReplica();
    const second = await eventually(
      async () => r.ofCase(caseId)[1],
      LEASE_MS + 30_000,
      'the redelivery by the other replica',
    );
    // Not before the lease ran out (measured from the kill, which came after the lease was taken).
    expect(second.at - first.at).toBeGreaterThanOrEqual(LEASE_MS - 1000);
    expect(second.at).toBeGreaterThan(killedAt);
    expect(second.id).toBe(first.id);
    expect(second.body).toBe(first.body);
    expect(verify(sub.secret, second)).toBeTruthy();
    await eventually(
      async () => (await deliveries(sub.id))[0]?.status === 'delivered',
      5000,
      'delivered',
    );
    expect((await deliveries(sub.id))[0].attempts).toBe(2);
    expect(r.ofCase(caseId)).toHaveLength(2);
    for (const res of held) res.destroy();
  }, 120_000);
});
