import {
  eventually,
  freePort,
  request,
  type Stack,
  startStack,
  startTestApi,
  startTestUms,
  TcpProxy,
  TEST_APP_ROLE,
  TEST_ROLE_PASSWORD,
  testDatabaseUrls,
  testEnv,
  type TestApi,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { Client } from 'pg';

/** Nothing of a connection string, host, port or stack may appear in a probe body. */
function expectNoLeak(text: string, ...secrets: string[]): void {
  expect(text).not.toMatch(/postgres(ql)?:\/\/|redis:\/\/|127\.0\.0\.1|localhost|\bat .*\.js:\d+/);
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('health probes (real PostgreSQL, Redis and ums-dev)', () => {
  let ums: UmsDevServer;
  let pg: TcpProxy;
  let api: TestApi;
  const dbUrl = () => testDatabaseUrls().appUrl;

  beforeAll(async () => {
    ums = await startTestUms();
    const target = new URL(dbUrl());
    pg = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    api = await startTestApi(testEnv({ DATABASE_URL: pg.rewrite(dbUrl()), UMS_BASE_URL: ums.url }));
  });

  afterAll(async () => {
    await api?.close();
    await pg?.close();
    await ums?.close();
  });

  afterEach(async () => {
    if (pg.currentMode !== 'forward') await pg.forward();
  });

  const get = (path: string) => request(api.url, path);
  const readyIs = (status: number) => async () => (await get('/health/ready')).status === status;

  it('live, startup and ready answer 200 with the terminus body', async () => {
    const live = await get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', details: { process: { status: 'up' } } });
    expect(live.headers.get('cache-control')).toMatch(/no-store/);

    const startup = await get('/health/startup');
    expect(startup.status).toBe(200);
    expect(startup.body.status).toBe('ok');

    await eventually(readyIs(200), 5000, 'ready 200');
    const ready = await get('/health/ready');
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details.database.status).toBe('up');
    expect(ready.body.details.ums.status).toBe('up');
    if (process.env.TEST_REDIS_URL) expect(ready.body.details.redis.status).toBe('up');
    else expect(ready.body.details.redis).toBeUndefined();
  });

  it("/health keeps the seed's body plus the original's service field", async () => {
    await eventually(readyIs(200), 5000, 'ready 200');
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'healthy',
      service: 'case_service',
      version: '1.0.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      checks: {
        database: 'healthy',
        redis: process.env.TEST_REDIS_URL ? 'healthy' : 'not_configured',
        ums: 'healthy',
      },
    });
  });

  it('reuses a readiness result for a moment (probe storms do not hammer the database)', async () => {
    await eventually(readyIs(200), 5000, 'ready 200');
    const storm = await Promise.all(Array.from({ length: 20 }, () => get('/health/ready')));
    expect(storm.every((r) => r.status === 200)).toBe(true);
    const again = await get('/health/ready');
    expect(again.body.details.database.cachedResponse).toBe(true);
  });

  it('PostgreSQL refusing connections: ready 503 (no leak), live 200, then recovery', async () => {
    await eventually(readyIs(200), 5000, 'ready 200');
    await pg.refuse();

    await eventually(readyIs(503), 10_000, 'ready 503');
    const ready = await get('/health/ready');
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.database.status).toBe('down');
    expect(ready.body.details.ums.status).toBe('up');
    expectNoLeak(ready.text, String(pg.port), 'lhcms-test-password', 'lhcms_test');

    const seed = await get('/health');
    expect(seed.status).toBe(503);
    expect(seed.body).toMatchObject({ status: 'unhealthy', checks: { database: 'unhealthy' } });
    expectNoLeak(seed.text, String(pg.port));

    const live = await get('/health/live');
    expect(live.status).toBe(200);

    await pg.forward();
    await eventually(readyIs(200), 10_000, 'ready 200 again');
  });

  it('PostgreSQL silent (a paused connection, as behind a firewall): ready 503 within the timeout, then recovery', async () => {
    await eventually(readyIs(200), 5000, 'ready 200');
    pg.pause();

    // Probes reuse a check result for 1.5 s: the first probe after that checks the paused
    // database, and must answer 503 within the check's timeout.
    let took = 0;
    const ready = await eventually(
      async () => {
        const t0 = Date.now();
        const r = await get('/health/ready');
        took = Date.now() - t0;
        return r.status !== 200 && r;
      },
      5000,
      'a probe that checks the paused database',
    );
    expect(ready.status).toBe(503);
    expect(ready.body.error.database).toMatchObject({ status: 'down' });
    expect(ready.body.error.database.message).toMatch(/timeout/);
    expect(took).toBeLessThan(3000);
    expect((await get('/health/live')).status).toBe(200);

    // A probe every ~0.5 s for 4 s: each timed-out check must give its
    // connection back (destroyed), or the pool runs dry and never recovers.
    for (let i = 0; i < 8; i++) {
      await get('/health/ready');
      await new Promise((r) => setTimeout(r, 500));
    }
    await pg.forward();
    await eventually(readyIs(200), 10_000, 'ready 200 after the pause');
  });

  it('keeps the HTTP keep-alive timeout above a 60 s load balancer and headersTimeout above it', () => {
    const server = api.app.getHttpServer();
    expect(server.keepAliveTimeout).toBe(65_000);
    expect(server.headersTimeout).toBe(66_000);
    expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
  });
});

describe('readiness of the UMS and Redis', () => {
  const apis: TestApi[] = [];
  const servers: UmsDevServer[] = [];
  afterAll(async () => {
    for (const a of apis) await a.close();
    for (const s of servers) await s.close();
  });

  async function api(overrides: Record<string, string | undefined>): Promise<TestApi> {
    const a = await startTestApi(testEnv(overrides));
    apis.push(a);
    return a;
  }

  it('a UMS without /health (404, like the published LHUMS) is up, with a note', async () => {
    const umsB = await startTestUms({ shape: 'B' });
    servers.push(umsB);
    expect((await request(umsB.url, '/health')).status).toBe(404);
    const a = await api({ UMS_BASE_URL: umsB.url });
    const res = await request(a.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.details.ums).toMatchObject({
      status: 'up',
      note: expect.stringMatching(/404/),
    });
  });

  it('an unreachable UMS is reported degraded: readiness and /health stay 200 (cached principals still serve)', async () => {
    const port = await freePort();
    const a = await api({ UMS_BASE_URL: `http://127.0.0.1:${port}` });
    const res = await request(a.url, '/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('degraded');
    expect(res.body.details.ums).toEqual(expect.objectContaining({ status: 'degraded' }));
    expect(res.body.details.database.status).toBe('up');
    expectNoLeak(res.text, String(port));
    expect((await request(a.url, '/health/live')).status).toBe(200);
    const seed = await request(a.url, '/health');
    expect(seed.status).toBe(200);
    expect(seed.body).toMatchObject({ status: 'healthy', checks: { ums: 'degraded' } });
  });

  it('Redis is checked only when REDIS_URL is set, and an unreachable one is degraded, not unready', async () => {
    const ums = await startTestUms();
    servers.push(ums);
    const noRedis = await api({ UMS_BASE_URL: ums.url, REDIS_URL: undefined });
    const ok = await request(noRedis.url, '/health/ready');
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body.details).sort()).toEqual(['database', 'ums']);
    expect((await request(noRedis.url, '/health')).body.checks.redis).toBe('not_configured');

    const port = await freePort();
    const badRedis = await api({
      UMS_BASE_URL: ums.url,
      REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${port}/0`,
    });
    const down = await request(badRedis.url, '/health/ready');
    expect(down.status).toBe(200);
    expect(down.body.details.redis).toMatchObject({
      status: 'degraded',
      message: 'connection refused',
    });
    expect(down.body.details.database.status).toBe('up');
    expectNoLeak(down.text, 's3cret-pass', String(port));
    expect((await request(badRedis.url, '/health')).body.checks.redis).toBe('degraded');
  });
});

describe('PostgreSQL at its connection limit', () => {
  const role = `lhcms_test_limited_${process.pid}`;
  let admin: Client;
  let stack: Stack | undefined;

  beforeAll(async () => {
    admin = new Client({ connectionString: testDatabaseUrls().adminUrl });
    await admin.connect();
    // The app role's privileges, but PostgreSQL lets it hold two connections only.
    await admin.query(
      `CREATE ROLE ${role} LOGIN PASSWORD '${TEST_ROLE_PASSWORD}' CONNECTION LIMIT 2 IN ROLE ${TEST_APP_ROLE}`,
    );
  });

  afterAll(async () => {
    await stack?.close();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('a request refused a connection (53300 too_many_connections) is 503 Database unavailable, not 500', async () => {
    const url = new URL(testDatabaseUrls().appUrl);
    url.username = role;
    stack = await startStack({
      env: {
        DATABASE_URL: url.toString(),
        DB_POOL_SIZE: '2',
        DB_MAX_OVERFLOW: '10',
        // The request pool alone: the audit trail's own connections would be refused as well.
        HIPAA_AUDIT_ENABLED: 'false',
      },
    });
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => stack!.as('admin', '/api/v1/cases/?per_page=5')),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses).toContain(503);
    const refused = replies.find((r) => r.status === 503)!;
    expect(refused.body).toMatchObject({
      error: 'Service Unavailable',
      message: 'Database unavailable',
      code: 503,
    });
    expectNoLeak(refused.text, role);
  });
});
