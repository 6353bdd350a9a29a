import { setTimeout as sleep } from 'node:timers/promises';
import {
  cleanEnv,
  eventually,
  freePort,
  isolatedSeed,
  loginSeedUser,
  request,
  spawnNode,
  startTestApi,
  startTestUms,
  TcpProxy,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
  testDatabaseUrls,
  testEnv,
  type Spawned,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { DataSource } from 'typeorm';
import { CacheStore } from '@lhcms/cache';
import { ObservabilityTestModule } from '../support/observability-test.module';

const IN_FLIGHT = 50;
/** Kubernetes' terminationGracePeriodSeconds in the chart is 45 s; the drain must end well before. */
const GRACE_MS = 45_000;

describe('graceful shutdown of the built server (dist/apps/api/src/main.js)', () => {
  let ums: UmsDevServer;
  let pg: TcpProxy;
  let server: Spawned | undefined;
  let port: number;

  beforeAll(async () => {
    ums = await startTestUms({ seed: isolatedSeed().seed });
    const target = new URL(testDatabaseUrls().appUrl);
    pg = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    port = await freePort();
    server = spawnNode(
      'dist/apps/api/src/main.js',
      cleanEnv({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: pg.rewrite(testDatabaseUrls().appUrl),
        UMS_BASE_URL: ums.url,
        SECRET_KEY: TEST_SECRET_KEY,
        JWT_SECRET_KEY: TEST_JWT_SECRET,
        ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
        // Fewer connections than requests: most of them wait for a connection
        // and still need the pool after SIGTERM (and the shared test server's
        // max_connections is not a limit of this test).
        DB_POOL_SIZE: '8',
        DB_MAX_OVERFLOW: '0',
        // They wait in line for seconds: this test is about the drain, not load shedding.
        DB_POOL_TIMEOUT: '30',
        SHUTDOWN_DELAY_MS: '1500',
        // The shared cache and the per-user rate limit in Redis when the run has one.
        ...(process.env.TEST_REDIS_URL
          ? {
              REDIS_URL: process.env.TEST_REDIS_URL,
              REDIS_KEY_PREFIX: `lhcms-drain-${process.pid}`,
            }
          : {}),
        RATE_LIMIT_PER_MINUTE: '100000',
        LOG_LEVEL: 'info',
      }),
    );
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await pg?.close();
    await ums?.close();
  });

  const api = () => `http://127.0.0.1:${port}`;

  it(`completes ${IN_FLIGHT} in-flight requests with 2xx after SIGTERM, turns readiness 503 at once, and exits 0`, async () => {
    const s = server!;
    await eventually(
      async () => {
        if (s.child.exitCode !== null) throw new Error(`exited early:\n${s.output()}`);
        return (await request(api(), '/health/ready').catch(() => ({ status: 0 }))).status === 200;
      },
      30_000,
      'ready',
    );
    const token = await loginSeedUser(ums.url, 'admin');
    expect((await request(api(), '/api/v1/cases', { token })).status).toBe(200);

    // Every database round trip now takes 200 ms more: each request is in flight for a while.
    pg.delay(100);
    const results = Array.from({ length: IN_FLIGHT }, (_, i) => {
      const id = `drain-${String(i).padStart(4, '0')}`;
      return request(api(), '/api/v1/cases', { token, headers: { 'x-request-id': id } }).then(
        (r) => ({ id, status: r.status, at: Date.now() }),
        (err: unknown) => ({ id, status: 0, at: Date.now(), err: String(err) }),
      );
    });
    await sleep(400);

    const sigtermAt = Date.now();
    s.child.kill('SIGTERM');
    await sleep(100);
    // Readiness is 503 at once while the server still serves (SHUTDOWN_DELAY_MS); liveness stays 200.
    const ready = await request(api(), '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('shutting_down');
    expect((await request(api(), '/health/live')).status).toBe(200);
    // Until the server stops accepting, it still serves API requests in full:
    // auth, the principal cache and the rate limiter (Redis) are not closed yet.
    const during = await request(api(), '/api/v1/cases', { token });
    expect(during.status).toBe(200);

    const done = await Promise.all(results);
    expect(done.filter((r) => r.status !== 200)).toEqual([]);
    // They were in flight when the signal came: every one finished after it.
    expect(done.every((r) => r.at > sigtermAt)).toBe(true);

    const exit = await Promise.race([
      s.exited,
      sleep(GRACE_MS, undefined, { ref: false }).then(() => ({ code: 'timeout', signal: null })),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - sigtermAt).toBeLessThan(GRACE_MS);

    // The logs: JSON lines, one request line per drained request with its id and the principal.
    const out = s.output();
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // (The audit stream carries the request id too; here only the request lines count.)
    const drained = lines.filter(
      (l) =>
        l.log !== 'audit' && typeof l.request_id === 'string' && l.request_id.startsWith('drain-'),
    );
    expect(drained).toHaveLength(IN_FLIGHT);
    for (const l of drained) {
      expect(l).toMatchObject({ msg: 'request completed', status: 200, route: '/api/v1/cases' });
      expect(typeof l.user_id).toBe('string');
      expect(typeof l.lab_id).toBe('string');
    }
    expect(lines.some((l) => /SIGTERM: draining/.test(String(l.msg)))).toBe(true);
    expect(out).not.toContain(token);
    expect(out).not.toContain(TEST_SECRET_KEY);
  });
});

describe('close order inside the app', () => {
  let ums: UmsDevServer;
  beforeAll(async () => {
    ums = await startTestUms();
  });
  afterAll(() => ums?.close());

  it('an in-flight request still has the database and the cache while the app closes; both close after it', async () => {
    const api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url }), {
      imports: [ObservabilityTestModule],
    });
    const ds = api.app.get(DataSource);
    const store = api.app.get(CacheStore);
    const pending = request(api.url, '/test-only/slow?ms=500');
    await sleep(150);
    const closing = api.close();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ db: 1, cache: 'ok' });
    await closing;
    expect(ds.isInitialized).toBe(false);
    // Not reopened by a late cache call either: closed once, after the drain.
    expect(store.redisOpen).toBe(false);
  });
});
