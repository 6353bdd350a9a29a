import { setTimeout as sleep } from 'node:timers/promises';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import {
  cleanEnv,
  createTestDatabase,
  eventually,
  spawnNode,
  TcpProxy,
  testDatabaseUrls,
  type TestDatabase,
} from '@lhcms/testing';
import type { Client } from 'pg';
import { superuserClient } from '../audit/audit-test-helpers';
import { type ApiProcess, type LoadLog, probe, runLoad, startApiProcess } from './fault-harness';

/**
 * The API as a process of its own with PostgreSQL behind a TCP fault proxy,
 * on a database of its own (the suite terminates its backends), under a
 * bounded concurrent load of creates, reads, lists and status changes.
 *
 * Throughout: the process never exits on its own; every answer is a success
 * or a documented 503 (with Retry-After); at the end every acknowledged
 * write is in the database as acknowledged, every acknowledged request has
 * its audit row, and `lhcms audit verify` says the chain is intact.
 */
describe('database faults: never crash, never 500, never lie', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let api: ApiProcess;
  let su: Client;
  const logs: LoadLog[] = [];

  const alive = () => expect(api.proc.child.exitCode).toBeNull();

  /** Every answer of a load: success or a documented 503 in the one error shape. */
  function expectOnlyDocumented(log: LoadLog): void {
    expect(log.transportErrors).toEqual([]);
    // With the API's log lines of those requests, to tell why.
    const lines = api.proc.output().split('\n');
    expect(
      log.undocumented().map((o) => ({
        answer: `${o.op} ${o.status} ${JSON.stringify(o.body)}`,
        log: lines.filter((l) => o.requestId && l.includes(o.requestId)),
      })),
    ).toEqual([]);
    for (const o of log.outcomes.filter((x) => x.status === 503)) {
      expect(o.body).toMatchObject({ error: 'Service Unavailable', code: 503 });
      expect(o.body.request_id).toEqual(expect.any(String));
      expect(['Database unavailable', 'Audit trail unavailable']).toContain(o.body.message);
    }
  }

  async function expectRecovered(within = 5000): Promise<void> {
    const t0 = Date.now();
    await eventually(async () => (await probe(api, '/health/ready')) === 200, within, 'ready');
    const token = await api.token('admin');
    await eventually(
      async () =>
        (
          await fetch(`${api.url}/api/v1/cases/?per_page=1`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).status === 200,
      Math.max(500, within - (Date.now() - t0)),
      'a list answered 200',
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_faults');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    su = await superuserClient(db.name);
    const target = new URL(db.appUrl);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await proxy?.close();
    await su?.end();
    await db?.drop();
  });

  it('starts while PostgreSQL is down: live 200, ready and startup 503, requests 503; ready within 5 s of its return', async () => {
    await proxy.refuse();
    api = await startApiProcess({
      databaseUrl: proxy.rewrite(db.appUrl),
      ownerUrl: db.ownerUrl,
      env: {
        // A small pool, so that the suite also exhausts it.
        DB_POOL_SIZE: '3',
        DB_MAX_OVERFLOW: '1',
        DB_POOL_TIMEOUT: '1',
        DB_POOL_MAX_WAITING: '6',
        AUDIT_SEAL_INTERVAL_MS: '500',
        // The client gives up 2 s after it when the server is silent.
        DB_STATEMENT_TIMEOUT_MS: '1000',
      },
    });
    for (let i = 0; i < 3; i++) {
      await sleep(700);
      alive();
      expect(await probe(api, '/health/live')).toBe(200);
      expect(await probe(api, '/health/ready')).toBe(503);
      expect(await probe(api, '/health/startup')).toBe(503);
    }
    const res = await fetch(`${api.url}/api/v1/cases/`, {
      headers: { authorization: `Bearer ${await api.token('admin')}` },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ message: 'Database unavailable', code: 503 });
    // Reference data needs no database.
    expect(await probe(api, '/api/v1/cases/types')).toBe(200);

    await proxy.forward();
    await expectRecovered();
    expect(await probe(api, '/health/startup')).toBe(200);
    alive();
  });

  it('connections cut mid-request and terminated by the server: the requests on them 503, the process serves on', async () => {
    const load = runLoad(api, { clients: 6, maxMs: 30_000 });
    logs.push(load.log);
    await eventually(async () => load.log.acked.size >= 6, 10_000, 'some cases created');
    for (let round = 0; round < 3; round++) {
      // A network cut: every open connection reset, new ones refused for a moment.
      const before = load.log.outcomes.length;
      await proxy.refuse();
      await sleep(300);
      await proxy.forward();
      await sleep(700);
      alive();
      // An administrator (or a failover) ends every application connection of this database.
      const killed = await su.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = $1 AND application_name IN ('lhcms-api', 'lhcms-audit')) t`,
        [db.name],
      );
      expect(killed.rows[0].n).toBeGreaterThan(0);
      await sleep(700);
      alive();
      expect(load.log.since(before).length).toBeGreaterThan(0);
    }
    await expectRecovered();
    // Serving again: more successes after the last fault.
    const mark = load.log.outcomes.length;
    await eventually(
      async () => load.log.since(mark).filter((o) => o.status < 300).length >= 10,
      5000,
      'successes after recovery',
    );
    await load.stop();
    alive();
    expectOnlyDocumented(load.log);
    const s = load.log.statuses();
    expect((s.get(200) ?? 0) + (s.get(201) ?? 0)).toBeGreaterThan(20);
  });

  it('200 ms of database latency: slower, never a 500; a full pool sheds load at once with 503 and Retry-After', async () => {
    proxy.delay(100); // each way: 200 ms a round trip
    const token = await api.token('admin');
    const load = runLoad(api, { clients: 4, maxMs: 20_000 });
    logs.push(load.log);
    await sleep(3000);
    // A burst far above the pool (4) and its wait queue (6): the surplus is refused at once.
    const burst = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const t0 = performance.now();
        const r = await fetch(`${api.url}/api/v1/cases/?per_page=5`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await r.json()) as { message?: string };
        return {
          status: r.status,
          ms: performance.now() - t0,
          retry: r.headers.get('retry-after'),
          body,
        };
      }),
    );
    await load.stop();
    proxy.delay(0);
    alive();
    expectOnlyDocumented(load.log);
    expect(load.log.outcomes.filter((o) => o.status < 300).length).toBeGreaterThan(0);
    const refused = burst.filter((b) => b.status === 503);
    expect(burst.every((b) => b.status === 200 || b.status === 503)).toBe(true);
    expect(burst.filter((b) => b.status === 200).length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.retry).toBe('2');
      expect(r.body.message).toBe('Database unavailable');
    }
    // Shed, not queued: no refusal waited longer than the acquire deadline (1 s) and a margin,
    // and those beyond the wait queue were refused before it (at once, plus their audit row).
    expect(Math.max(...refused.map((r) => r.ms))).toBeLessThan(2500);
    expect(refused.filter((r) => r.ms < 900).length).toBeGreaterThanOrEqual(10);
    await expectRecovered();
  });

  it('a database gone silent (network black hole): requests answer 503 within the statement bound, not hang', async () => {
    const load = runLoad(api, { clients: 4, maxMs: 30_000 });
    logs.push(load.log);
    await eventually(async () => load.log.outcomes.length > 10, 5000, 'load running');
    proxy.pause();
    const mark = load.log.outcomes.length;
    await sleep(8000);
    alive();
    const during = load.log.since(mark);
    await proxy.forward();
    await expectRecovered();
    await load.stop();
    alive();
    expectOnlyDocumented(load.log);
    // Answered while the database was silent, within their bounds: the 1 s acquire deadline
    // or the 1 s statement timeout plus the client's 2 s margin, then the same again for the
    // refusal's audit row. Without a client-side bound they would hang until it came back.
    expect(during.filter((o) => o.status === 503).length).toBeGreaterThan(0);
    expect(Math.max(...during.map((o) => o.ms))).toBeLessThan(7500);
  });

  it('a 30 s outage under load: 503 throughout, not ready, recovered within 5 s of its end', async () => {
    const load = runLoad(api, { clients: 4, maxMs: 60_000, pauseMs: 20 });
    logs.push(load.log);
    await eventually(async () => load.log.outcomes.length > 20, 5000, 'load running');
    await proxy.refuse();
    const outageStart = load.log.outcomes.length;
    const readyDuring: number[] = [];
    for (let t = 0; t < 30; t += 3) {
      await sleep(3000);
      alive();
      readyDuring.push(await probe(api, '/health/ready'));
      expect(await probe(api, '/health/live')).toBe(200);
    }
    // Readiness reuses a check result for 1.5 s: from the second probe on it says 503.
    expect(readyDuring.slice(1).every((s) => s === 503)).toBe(true);
    await proxy.forward();
    await expectRecovered();
    const mark = load.log.outcomes.length;
    await eventually(
      async () => load.log.since(mark).some((o) => o.status === 201),
      5000,
      'a create succeeded after the outage',
    );
    await load.stop();
    alive();
    expectOnlyDocumented(load.log);
    const during = load.log.outcomes.slice(outageStart + 20, mark);
    expect(during.length).toBeGreaterThan(20);
    expect(during.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
  }, 90_000);

  it('every acknowledged write is stored as acknowledged, with its audit row; the chain verifies intact', async () => {
    const acked = new Map<string, { version: number; status: string; case_number: string }>();
    for (const l of logs) for (const [id, v] of l.acked) acked.set(id, v);
    expect(acked.size).toBeGreaterThan(10);
    const rows = await su.query<{
      id: string;
      version: number;
      status: string;
      case_number: string;
    }>(`SELECT id::text, version, status, case_number FROM cases WHERE id = ANY($1::int[])`, [
      [...acked.keys()],
    ]);
    const stored = new Map(rows.rows.map((r) => [r.id, r]));
    for (const [id, a] of acked) {
      const row = stored.get(id);
      expect(row).toBeDefined();
      expect(row!.case_number).toBe(a.case_number);
      // Later changes may have committed unacknowledged (their answer was lost); never earlier ones.
      expect(row!.version).toBeGreaterThanOrEqual(a.version);
      if (row!.version === a.version) expect(row!.status).toBe(a.status);
    }

    const ackedIds = logs
      .flatMap((l) => l.outcomes)
      .filter((o) => o.status < 300 && o.requestId)
      .map((o) => o.requestId!);
    expect(ackedIds.length).toBeGreaterThan(50);
    const audited = await eventually(
      async () => {
        const r = await su.query<{ request_id: string }>(
          `SELECT DISTINCT request_id FROM audit_events WHERE request_id = ANY($1::text[])`,
          [ackedIds],
        );
        return r.rows.length === new Set(ackedIds).size ? r.rows : undefined;
      },
      10_000,
      'an audit row for every acknowledged request',
    );
    expect(audited.length).toBe(new Set(ackedIds).size);

    const cli = async (...args: string[]) => {
      const p = spawnNode('dist/apps/api/src/cli.js', cleanEnv(api.env), args);
      const { code } = await p.exited;
      return { code, out: p.output() };
    };
    // The server may still be sealing; sealing twice is harmless.
    expect((await cli('audit', 'seal')).code).toBe(0);
    const verified = await cli('audit', 'verify');
    expect(verified.out).toMatch(/intact/);
    expect(verified.code).toBe(0);
    alive();
    expect(api.proc.output()).not.toMatch(/Unhandled|uncaught|at \S+ \(.*:\d+:\d+\)/i);
    // A database outage is not a fault of the service: warnings (and alerts), no error-level line.
    const errors = api.proc
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":"error"'));
    expect(errors).toEqual([]);
  }, 60_000);

  it('stops cleanly on SIGTERM after all that', async () => {
    const exit = await api.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

describe('start-up migrations (development, embedded) while PostgreSQL is down', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    // A database without the schema: the API's own start-up migrations must build it.
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_faults_migrate');
    const target = new URL(db.appUrl);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });

  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await proxy?.close();
    await db?.drop();
  });

  it('start, wait with backoff, migrate and serve once the database is back', async () => {
    await proxy.refuse();
    api = await startApiProcess({
      databaseUrl: proxy.rewrite(db.appUrl),
      ownerUrl: proxy.rewrite(db.ownerUrl),
      env: { DB_MIGRATE_ON_START: 'true' },
    });
    await sleep(1500);
    expect(api.proc.child.exitCode).toBeNull();
    expect(await probe(api, '/health/live')).toBe(200);
    expect(await probe(api, '/health/ready')).toBe(503);
    expect(await probe(api, '/health/startup')).toBe(503);

    await proxy.forward();
    await eventually(async () => (await probe(api!, '/health/startup')) === 200, 5000, 'started');
    await eventually(async () => (await probe(api!, '/health/ready')) === 200, 5000, 'ready');
    const created = await fetch(`${api.url}/api/v1/cases/`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await api.token('admin')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ doctor_id: 'd', product_id: 'p', case_type: 'other' }),
    });
    expect(created.status).toBe(201);
    // One warning for the whole wait (not one per attempt), then the migrations, then connected.
    const out = api.proc.output();
    expect(out.match(/start-up migrations failed/g)).toHaveLength(1);
    expect(out).toMatch(/migrations applied: /);
    expect(out).toMatch(/database connected after \d+ failed attempt/);
    expect(await api.stop()).toEqual({ code: 0, signal: null });
    api = undefined;
  });
});
