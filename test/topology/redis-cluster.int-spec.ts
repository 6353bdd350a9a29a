import * as net from 'node:net';
import { CacheStore, RedisLink } from '@lhcms/cache';
import {
  cleanEnv,
  eventually,
  loginSeedUser,
  request,
  spawnNode,
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
import { haveRedisServer, RedisClusterUnderTest } from './redis-cluster';

/**
 * REDIS_MODE=cluster against a real three-master Redis Cluster of the
 * machine's redis-server: the cache module in this process, and two built
 * API processes (dist/apps/api/src/main.js, production mode) with ums-dev
 * sharing principals and the rate limit through the cluster; then a master
 * is killed (the API keeps serving, degraded) and started again (it recovers
 * by itself). Ports: the nodes on 27001-27003 (cluster bus +50), the APIs on
 * 27010-27011.
 */

const NODE_PORTS = [27001, 27002, 27003];
const API_PORTS = [27010, 27011];
const LIMIT = 8;
const LIST = '/api/v1/cases/?per_page=5';

/** Skipped without the Redis programs, and says so; under CI=true it runs and fails instead. */
const describeWithRedis = (title: string, body: () => void) =>
  haveRedisServer() || process.env.CI === 'true'
    ? describe(title, body)
    : describe.skip(
        `${title} [skipped: redis-server and redis-cli are not on PATH (Debian package redis-server)]`,
        body,
      );

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describeWithRedis('Redis Cluster (REDIS_MODE=cluster, three masters, two API processes)', () => {
  const prefix = `lhcms-cluster-${process.pid}-${Date.now().toString(36)}`;
  let cluster: RedisClusterUnderTest | undefined;
  let ums: UmsDevServer | undefined;
  let umsProxy: TcpProxy | undefined;
  const apis: Spawned[] = [];
  const url = (i: number) => `http://127.0.0.1:${API_PORTS[i]}`;

  beforeAll(async () => {
    if (!haveRedisServer())
      throw new Error(
        'redis-server and redis-cli are not on PATH: install Debian package redis-server',
      );
    for (const p of [...NODE_PORTS, ...NODE_PORTS.map((n) => n + 50), ...API_PORTS])
      if (!(await portFree(p)))
        throw new Error(`port ${p} is in use: this suite needs 27001-27061`);
    cluster = await RedisClusterUnderTest.start(NODE_PORTS);
    ums = await startTestUms();
    const umsTarget = new URL(ums.url);
    umsProxy = await TcpProxy.start({ host: umsTarget.hostname, port: Number(umsTarget.port) });
    for (const port of API_PORTS) {
      apis.push(
        spawnNode(
          'dist/apps/api/src/main.js',
          cleanEnv({
            NODE_ENV: 'production',
            HOST: '127.0.0.1',
            PORT: String(port),
            DATABASE_URL: testDatabaseUrls().appUrl,
            UMS_BASE_URL: `http://127.0.0.1:${umsProxy.port}`,
            SECRET_KEY: TEST_SECRET_KEY,
            JWT_SECRET_KEY: TEST_JWT_SECRET,
            ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
            AUDIT_LOG_DESTINATION: '/dev/null',
            REDIS_MODE: 'cluster',
            REDIS_URL: cluster.url,
            REDIS_CLUSTER_NODES: cluster.seeds,
            REDIS_KEY_PREFIX: prefix,
            // Every request asks the shared cache, not the per-process copy in front of it.
            UMS_LOCAL_CACHE_TTL: '0',
            RATE_LIMIT_PER_MINUTE: String(LIMIT),
            LOG_LEVEL: 'info',
          }),
        ),
      );
    }
    for (const [i, api] of apis.entries()) {
      let last: unknown;
      await eventually(
        async () => {
          if (api.child.exitCode !== null) throw new Error(`API exited:\n${api.output()}`);
          const r = await request(url(i), '/health/ready').catch(() => undefined);
          last = r?.body;
          return r?.status === 200 && r.body?.details?.redis?.status === 'up';
        },
        40_000,
        `API ${i} ready with Redis up`,
      ).catch((err: Error) => {
        throw new Error(
          `${err.message}; last readiness ${JSON.stringify(last)}; output:\n${api.output().slice(-3000)}`,
        );
      });
    }
  }, 90_000);

  afterAll(async () => {
    for (const api of apis) {
      if (api.child.exitCode === null && api.child.signalCode === null) {
        api.child.kill('SIGKILL');
        await api.exited;
      }
    }
    await umsProxy?.close();
    await ums?.close();
    await cluster?.stop();
  });

  it('caches through the real module: keys spread over the masters, read back, cleared on every master', async () => {
    const env = testEnv({
      REDIS_MODE: 'cluster',
      REDIS_URL: cluster!.url,
      REDIS_CLUSTER_NODES: cluster!.seeds,
      REDIS_KEY_PREFIX: `${prefix}-module`,
    });
    const link = new RedisLink(env);
    try {
      const store = new CacheStore(env, link);
      await link.onModuleInit();
      // The boot wait is bounded (1 s): on a busy machine the cluster may come up just after it.
      await eventually(async () => link.status.up, 10_000, 'the link up');
      expect(link.mode).toBe('cluster');
      for (let i = 0; i < 30; i++) await store.keyv.set(`k${i}`, { i }, 60_000);
      for (let i = 0; i < 30; i++) expect(await store.keyv.get(`k${i}`)).toEqual({ i });
      const perNode = cluster!.keysPerNode(`${prefix}-module*`);
      expect([...perNode.values()].reduce((a, b) => a + b, 0)).toBe(30);
      // No hash tag pins the keys to one slot: every master holds some.
      expect([...perNode.values()].every((n) => n > 0)).toBe(true);
      await store.keyv.clear();
      expect([...cluster!.keysPerNode(`${prefix}-module*`).values()]).toEqual([0, 0, 0]);
    } finally {
      await link.onApplicationShutdown();
    }
  });

  it('reports the cluster in readiness', async () => {
    for (const i of [0, 1]) {
      const ready = await request(url(i), '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.redis).toMatchObject({ status: 'up', mode: 'cluster' });
    }
  });

  it('shares principals between the replicas through the cluster (UMS unreachable for the second)', async () => {
    const token = await loginSeedUser(ums!.url, 'viewer');
    expect((await request(url(0), LIST, { token })).status).toBe(200);
    expect(
      [...cluster!.keysPerNode(`${prefix}*`).values()].reduce((a, b) => a + b, 0),
    ).toBeGreaterThan(0);
    await umsProxy!.refuse();
    try {
      // The second replica never saw this token: its principal comes from the cluster.
      expect((await request(url(1), LIST, { token })).status).toBe(200);
    } finally {
      await umsProxy!.forward();
    }
  });

  it('counts one user across both replicas in the cluster, then answers 429 in the error shape', async () => {
    const token = await loginSeedUser(ums!.url, 'tech');
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const r = await request(url(i % 2), LIST, { token });
      statuses.push(r.status);
      expect(r.headers.get('x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i));
    }
    expect(statuses).toEqual(Array(LIMIT).fill(200));
    const limited = await request(url(1), LIST, { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ error: 'Too Many Requests', code: 429 });
    expect(limited.body.request_id).toBe(limited.headers.get('x-request-id'));
  });

  it('keeps serving with a master killed (Redis degraded), and recovers by itself once it is back', async () => {
    const token = await loginSeedUser(ums!.url, 'admin');
    // The node of REDIS_URL itself: while it is away the layout comes from REDIS_CLUSTER_NODES.
    const victim = NODE_PORTS[0];
    await cluster!.kill(victim);
    for (const i of [0, 1]) {
      await eventually(
        async () => {
          const r = await request(url(i), '/health/ready');
          return r.status === 200 && r.body.details.redis.status === 'degraded';
        },
        10_000,
        `API ${i} reports Redis degraded`,
      );
    }
    const during = await request(url(0), '/health/ready');
    expect(during.body.details.redis.message).toBeTruthy();
    expect(during.text).not.toContain(String(victim));
    for (let n = 0; n < 4; n++) {
      const started = Date.now();
      expect((await request(url(n % 2), LIST, { token })).status).toBe(200);
      // The circuit is open: no request waits for the dead master (lenient for a busy machine).
      expect(Date.now() - started).toBeLessThan(2000);
    }
    for (const api of apis) expect(api.child.exitCode).toBeNull();

    await cluster!.restart(victim);
    await cluster!.waitOk();
    for (const i of [0, 1]) {
      await eventually(
        async () => {
          const r = await request(url(i), '/health/ready');
          return r.body?.details?.redis?.status === 'up';
        },
        15_000,
        `API ${i} reports Redis up again`,
      );
    }
    for (let n = 0; n < 4; n++)
      expect((await request(url(n % 2), LIST, { token })).status).toBe(200);
    const logs = apis[0].output();
    expect(logs).toMatch(/Redis unavailable/);
    expect(logs).toMatch(/Redis is available again/);
    expect(logs).not.toMatch(/redis:\/\//);
  });
});
