import * as http from 'node:http';
import * as net from 'node:net';
import type { Socket } from 'node:net';
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

/** The built server's environment in production mode, on the test database (or a proxy of it). */
function productionEnv(
  port: number,
  databaseUrl: string,
  umsUrl: string,
  extra: Record<string, string>,
): NodeJS.ProcessEnv {
  return cleanEnv({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    UMS_BASE_URL: umsUrl,
    SECRET_KEY: TEST_SECRET_KEY,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
    RATE_LIMIT_PER_MINUTE: '100000',
    ...extra,
  });
}
import { CacheStore } from '@lhcms/cache';
import { ObservabilityTestModule, slowRequests } from '../support/observability-test.module';

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
      productionEnv(port, pg.rewrite(testDatabaseUrls().appUrl), ums.url, {
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

    // A keep-alive connection that stays idle: closed by the server early in the drain, while it
    // still accepts (its client reconnects), not left for the listener's close.
    const idleAgent = new http.Agent({ keepAlive: true });
    let idleClosedAt: number | undefined;
    await new Promise<void>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/health/live', agent: idleAgent }, (res) => {
          res.socket.once('close', () => (idleClosedAt = Date.now()));
          res.resume().on('end', resolve);
        })
        .on('error', reject),
    );

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
    // Readiness is 503 at once while the server still serves (SHUTDOWN_DELAY_MS); liveness stays 200.
    const ready = await eventually(
      async () => {
        const r = await request(api(), '/health/ready');
        return r.status !== 200 && r;
      },
      1000,
      'readiness to fail after SIGTERM',
    );
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('shutting_down');
    expect((await request(api(), '/health/live')).status).toBe(200);
    // Until the server stops accepting, it still serves API requests in full:
    // auth, the principal cache and the rate limiter (Redis) are not closed yet.
    const during = await request(api(), '/api/v1/cases', { token });
    expect(during.status).toBe(200);
    expect(during.headers.get('connection')).toBe('close');
    await eventually(async () => idleClosedAt !== undefined, 1000, 'the idle connection closed');
    expect(idleClosedAt! - sigtermAt).toBeLessThan(1500);
    expect(s.child.exitCode).toBeNull();
    idleAgent.destroy();

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

describe('SIGTERM while keep-alive clients send continuously (the built server, default SHUTDOWN_DELAY_MS)', () => {
  const CLIENTS = 16;
  let ums: UmsDevServer;
  let server: Spawned | undefined;
  let port: number;
  /** The other replica: where a new connection goes once this one's endpoint is removed. */
  let other: http.Server;
  let otherPort: number;

  beforeAll(async () => {
    ums = await startTestUms({ seed: isolatedSeed().seed });
    other = http.createServer((_req, res) => {
      res.setHeader('x-replica', 'other');
      res.end('{}');
    });
    otherPort = await freePort();
    await new Promise<void>((resolve) => other.listen(otherPort, '127.0.0.1', resolve));
    port = await freePort();
    server = spawnNode(
      'dist/apps/api/src/main.js',
      productionEnv(port, testDatabaseUrls().appUrl, ums.url, { LOG_LEVEL: 'warn' }),
    );
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await new Promise((resolve) => other?.close(resolve));
    await ums?.close();
  });

  interface Sent {
    client: number;
    replica: 'this' | 'other';
    reused: boolean;
    status?: number;
    connection?: string;
    body?: string;
    error?: string;
    /** Sent after SIGTERM. */
    sentAfter: boolean;
    /** Answered (or failed) after SIGTERM. */
    answeredAfter?: boolean;
  }

  it('answers every request that arrives on an open keep-alive connection (Connection: close), resets none, exits 0', async () => {
    const s = server!;
    const api = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        if (s.child.exitCode !== null) throw new Error(`exited early:\n${s.output()}`);
        return (await request(api, '/health/ready').catch(() => ({ status: 0 }))).status === 200;
      },
      30_000,
      'ready',
    );
    const token = await loginSeedUser(ums.url, 'admin');

    // Kubernetes removes the endpoint (preStop) before SIGTERM: from then on a
    // new connection goes to another replica, while the connections already
    // open keep carrying requests to this one.
    let endpointRemoved = false;
    let sigterm = false;
    const sent: Sent[] = [];
    const agents = Array.from({ length: CLIENTS }, () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const connect = agent.createConnection.bind(agent) as (o: object, cb?: unknown) => Socket;
      (agent as unknown as { createConnection: typeof connect }).createConnection = (o, cb) =>
        connect(endpointRemoved ? { ...o, port: otherPort } : o, cb);
      return agent;
    });
    const send = (client: number): Promise<Sent> =>
      new Promise((resolve) => {
        const sentAfter = sigterm;
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            // A list (database work) and reference data (no database): some answers take a
            // while, others are quick, so at any moment some requests are on the wire.
            path: client % 2 ? '/api/v1/cases/types' : '/api/v1/cases?page_size=5',
            agent: agents[client],
            headers: { authorization: `Bearer ${token}` },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (body += d));
            res.on('end', () =>
              resolve({
                client,
                replica: res.headers['x-replica'] === 'other' ? 'other' : 'this',
                reused: req.reusedSocket,
                status: res.statusCode,
                connection: res.headers.connection,
                body,
                sentAfter,
                answeredAfter: sigterm,
              }),
            );
            res.on('error', (err) =>
              resolve({
                client,
                replica: 'this',
                reused: req.reusedSocket,
                error: String(err),
                sentAfter,
                answeredAfter: sigterm,
              }),
            );
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) =>
          resolve({
            client,
            replica: 'this',
            reused: req.reusedSocket,
            error: `${err.code ?? ''} ${err.message}`,
            sentAfter,
            answeredAfter: sigterm,
          }),
        );
        req.end();
      });

    let exited = false;
    void s.exited.then(() => (exited = true));
    const deadline = Date.now() + 30_000;
    const loops = agents.map(async (_a, client) => {
      // Until this replica is gone (bounded): a client sends its next request as soon as it has the answer.
      while (!exited && Date.now() < deadline) sent.push(await send(client));
    });
    await eventually(async () => sent.length >= CLIENTS * 20, 15_000, 'load running');

    endpointRemoved = true;
    sigterm = true;
    s.child.kill('SIGTERM');
    const exit = await Promise.race([
      s.exited,
      sleep(GRACE_MS, undefined, { ref: false }).then(() => ({ code: 'timeout', signal: null })),
    ]);
    await Promise.all(loops);
    for (const a of agents) a.destroy();

    // Not one request failed: no reset, no socket hang up.
    expect(sent.filter((r) => r.error)).toEqual([]);
    const here = sent.filter((r) => r.replica === 'this');
    // Every answer of this replica is a 200 — or a 503 in the one error shape.
    for (const r of here.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(503);
      expect(Object.keys(JSON.parse(r.body!) as object).sort()).toEqual([
        'code',
        'error',
        'message',
        'request_id',
        'timestamp',
      ]);
    }
    // After SIGTERM this replica is reached only over connections already open…
    expect(here.filter((r) => r.sentAfter).every((r) => r.reused)).toBe(true);
    // …and every client's last answer from it came after SIGTERM and told it to close the
    // connection: no client was left with a connection to reuse.
    for (let c = 0; c < CLIENTS; c++) {
      const last = here.filter((r) => r.client === c).at(-1);
      expect(last).toMatchObject({ answeredAfter: true, connection: 'close' });
    }
    // The clients went on with the other replica.
    expect(sent.filter((r) => r.replica === 'other').length).toBeGreaterThanOrEqual(CLIENTS);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});

describe('close order inside the app', () => {
  let ums: UmsDevServer;
  beforeAll(async () => {
    ums = await startTestUms();
  });
  afterAll(() => ums?.close());

  it('on a signal, a request on an open keep-alive connection after the listener closed is served (Connection: close); a quiet one is closed', async () => {
    const api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url }), {
      imports: [ObservabilityTestModule],
    });
    const port = Number(new URL(api.url).port);
    const get = (agent: http.Agent, path: string) =>
      new Promise<{ status?: number; connection?: string; reused: boolean; error?: string }>(
        (resolve) => {
          const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
            res.resume().on('end', () =>
              resolve({
                status: res.statusCode,
                connection: res.headers.connection,
                reused: req.reusedSocket,
              }),
            );
          });
          req.on('error', (err: NodeJS.ErrnoException) =>
            resolve({ reused: req.reusedSocket, error: `${err.code} ${err.message}` }),
          );
        },
      );
    const quiet = new http.Agent({ keepAlive: true });
    const busy = new http.Agent({ keepAlive: true });
    try {
      // `quiet` was last used long before the signal; `busy` just before it.
      expect((await get(quiet, '/health/live')).status).toBe(200);
      await sleep(700);
      const quietSocket = Object.values(quiet.freeSockets).flat()[0]!;
      const quietClosed = new Promise((resolve) => quietSocket.once('close', resolve));
      expect((await get(busy, '/health/live')).status).toBe(200);
      // An in-flight request keeps the server open past the listener's close.
      const started = slowRequests.started;
      const inFlight = request(api.url, '/test-only/slow?ms=800');
      await eventually(async () => slowRequests.started > started, 1000, 'the request in flight');
      // What main.ts does on SIGTERM (the typings omit the signal parameter).
      const closeWithSignal: (signal?: string) => Promise<void> = api.app.close.bind(api.app);
      const closing = closeWithSignal('SIGTERM');

      // SHUTDOWN_DELAY_MS is 0: new connections are refused at once…
      await eventually(
        () =>
          new Promise<boolean>((resolve) =>
            net
              .connect(port, '127.0.0.1')
              .once('connect', function (this: Socket) {
                this.destroy();
                resolve(false);
              })
              .once('error', () => resolve(true)),
          ),
        1000,
        'connections refused',
      );
      // …the quiet keep-alive connection is closed by the server…
      await quietClosed;
      // …and a request on the busy one is answered in full, telling the client to close.
      const late = await get(busy, '/health/live');
      expect(late).toEqual({ status: 200, connection: 'close', reused: true });
      expect((await inFlight).status).toBe(200);
      await closing;
    } finally {
      quiet.destroy();
      busy.destroy();
    }
  });

  it('an in-flight request still has the database and the cache while the app closes; both close after it', async () => {
    const api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url }), {
      imports: [ObservabilityTestModule],
    });
    const ds = api.app.get(DataSource);
    const store = api.app.get(CacheStore);
    const started = slowRequests.started;
    const pending = request(api.url, '/test-only/slow?ms=500');
    await eventually(async () => slowRequests.started > started, 1000, 'the request in flight');
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
