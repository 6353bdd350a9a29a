import * as net from 'node:net';
import {
  eventually,
  isolatedSeed,
  loginSeedUser,
  request,
  startTestApi,
  startTestUms,
  testDatabaseUrls,
  testEnv,
  type TestApi,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { register } from 'prom-client';
import { METRICS, SCRAPE_TARGET_LABELS } from '../../apps/api/src/metrics/metric-catalogue';
import { MetricsService, zeroSeriesOf } from '../../apps/api/src/metrics/metrics.service';
import { describeWithTool, promtool, run } from '../deploy/tools';
import {
  BOOM_DETAIL,
  ObservabilityTestModule,
  slowRequests,
  TEST_BEARER,
} from '../support/observability-test.module';
import {
  asStoredByPrometheus,
  OPERATOR_TARGET,
  PROMETHEUS_ACCEPT,
  parseMetrics,
  valueOf,
} from './metrics-scrape';

const CASE_ROUTE = '/api/v1/cases/:id';

describe('/metrics', () => {
  let ums: UmsDevServer;
  let api: TestApi;

  beforeAll(async () => {
    ums = await startTestUms({ seed: isolatedSeed().seed });
    api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url, BODY_LIMIT_BYTES: '2048' }), {
      imports: [ObservabilityTestModule],
    });
  });
  afterAll(async () => {
    await api?.close();
    await ums?.close();
  });

  const scrape = async () => {
    const res = await request(api.url, '/metrics');
    expect(res.status).toBe(200);
    return { text: res.text, samples: parseMetrics(res.text) };
  };
  const requests = (samples: ReturnType<typeof parseMetrics>, labels: Record<string, string>) =>
    valueOf(samples, 'lhcms_requests_total', labels);

  it('shows every failure series an alert or ratio reads on the first scrape, at 0', async () => {
    // First thing in this file (a fresh registry): nothing has failed yet.
    const { samples } = await scrape();
    const exact = (name: string, labels: Record<string, string>) =>
      samples.filter(
        (s) =>
          s.name === name &&
          Object.keys(s.labels).length === Object.keys(labels).length &&
          Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
    const zero = zeroSeriesOf();
    expect(zero.length).toBeGreaterThan(40);
    for (const z of zero) {
      const name = z.type === 'histogram' ? `${z.name}_count` : z.name;
      expect({ name, labels: z.labels, found: exact(name, z.labels).length }).toEqual({
        name,
        labels: z.labels,
        found: 1,
      });
    }
    const value = (name: string, labels: Record<string, string> = {}) =>
      exact(name, labels).map((s) => s.value);
    // What the alerts read: increase() of a series that exists at 0 sees the first failure.
    expect(value('lhcms_audit_write_failures_total', { mode: 'transactional' })).toEqual([0]);
    expect(value('lhcms_audit_write_failures_total', { mode: 'batch' })).toEqual([0]);
    expect(value('lhcms_rate_limiter_fail_open_total')).toEqual([0]);
    expect(value('lhcms_rate_limit_rejections_total')).toEqual([0]);
    for (const outcome of ['error', 'timeout', 'circuit_open'])
      expect(
        value('lhcms_ums_request_duration_seconds_count', { operation: 'me', outcome }),
      ).toEqual([0]);
    expect(value('lhcms_case_operations_total', { operation: 'create', status: 'error' })).toEqual([
      0,
    ]);
    // Gauges are not invented: dependency_up appears only when someone reports it — the
    // database from boot (0 until connected: LHCMSNotReady must see a replica that starts while
    // it is down; this one is connected), and Redis, whose connection reports its state from
    // boot (when REDIS_URL is set).
    const up = samples.filter((s) => s.name === 'lhcms_dependency_up');
    expect(up.map((s) => s.labels)).toEqual([
      { dependency: 'database' },
      ...(process.env.TEST_REDIS_URL ? [{ dependency: 'redis' }] : []),
    ]);
    expect(value('lhcms_dependency_up', { dependency: 'database' })).toEqual([1]);
  });

  it('keeps its labels when Prometheus stores them under the Operator (no exported_* labels)', async () => {
    expect((await request(api.url, '/test-only/widgets/5')).status).toBe(200);
    const res = await request(api.url, '/metrics', {
      headers: { accept: PROMETHEUS_ACCEPT, 'user-agent': 'Prometheus/3.7.0' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const stored = asStoredByPrometheus(parseMetrics(res.text));
    expect(
      stored.filter((s) => Object.keys(s.labels).some((k) => k.startsWith('exported_'))),
    ).toEqual([]);
    const byRoute = stored.filter(
      (s) => s.name === 'lhcms_requests_total' && s.labels.route === '/test-only/widgets/:id',
    );
    expect(byRoute.length).toBeGreaterThan(0);
    for (const s of byRoute) {
      expect(s.labels).toMatchObject({ ...OPERATOR_TARGET, method: 'GET', status: '200' });
    }
    expect(Object.keys(OPERATOR_TARGET).sort()).toEqual([...SCRAPE_TARGET_LABELS].sort());
  });

  it('serves the text format with every catalogue metric, the default Node metrics and the DB pool', async () => {
    await request(api.url, '/test-only/widgets/1');
    const res = await request(api.url, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const m of METRICS) {
      expect(res.text).toContain(`# TYPE ${m.name} ${m.type}`);
    }
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    const samples = parseMetrics(res.text);
    for (const state of ['total', 'idle', 'waiting']) {
      expect(samples).toContainEqual(
        expect.objectContaining({
          name: 'lhcms_db_pool_connections',
          labels: { pool: 'primary', state },
        }),
      );
    }
    expect(valueOf(samples, 'lhcms_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
    // Hooks that exist before anyone reports: sealing lag 0 until the audit module does.
    expect(valueOf(samples, 'lhcms_audit_sealing_lag_seconds')).toBe(0);
    expect(samples.some((s) => s.name === 'lhcms_ums_circuit_open' && s.value === 0)).toBe(true);
  });

  it('registers exactly what the catalogue declares (type, labels, buckets)', () => {
    for (const spec of METRICS) {
      const metric = register.getSingleMetric(spec.name) as unknown as {
        labelNames: string[];
        upperBounds?: number[];
      };
      expect(metric).toBeDefined();
      expect(metric.constructor.name.toLowerCase()).toBe(spec.type);
      expect([...metric.labelNames].sort()).toEqual([...spec.labels].sort());
      if (spec.type === 'histogram') expect(metric.upperBounds).toEqual([...spec.buckets]);
    }
    const ours = register.getMetricsAsArray().filter((m) => m.name.startsWith('lhcms_'));
    expect(ours.map((m) => m.name).sort()).toEqual(METRICS.map((m) => m.name).sort());
  });

  it('labels requests to /api/v1/cases/42 with the route template, never the raw id', async () => {
    const before = (await scrape()).samples;
    const token = await loginSeedUser(ums.url, 'admin');
    // Without a token (401) and as a lab admin for a case that is not there (404 of a matched route).
    expect((await request(api.url, '/api/v1/cases/42')).status).toBe(401);
    expect((await request(api.url, '/api/v1/cases/42', { token })).status).toBe(404);
    const { text, samples } = await scrape();
    const delta = (status: string) => {
      const label = { method: 'GET', route: CASE_ROUTE, status };
      return requests(samples, label) - requests(before, label);
    };
    expect(delta('401')).toBe(1);
    expect(delta('404')).toBe(1);
    expect(text).toContain(`route="${CASE_ROUTE}"`);
    expect(text).not.toMatch(/route="[^"]*\/42"/);
    expect(text).not.toContain('/api/v1/cases/42');
    // The ums-gateway reports through MetricsService: the /me call and the principal cache miss.
    const me = (s: typeof samples) =>
      valueOf(s, 'lhcms_ums_request_duration_seconds_count', { operation: 'me', outcome: 'ok' });
    expect(me(samples) - me(before)).toBe(1);
    const miss = (s: typeof samples) =>
      valueOf(s, 'lhcms_cache_requests_total', { cache: 'principal', result: 'miss' });
    expect(miss(samples) - miss(before)).toBe(1);
  });

  it('counts each response exactly once, by route template, with the duration histogram', async () => {
    const before = (await scrape()).samples;
    const n = 7;
    for (let i = 0; i < n; i++) {
      expect((await request(api.url, `/test-only/widgets/98765432${i}`)).status).toBe(200);
    }
    const { text, samples } = await scrape();
    const label = { method: 'GET', route: '/test-only/widgets/:id', status: '200' };
    expect(requests(samples, label) - requests(before, label)).toBe(n);
    const count = (s: typeof samples) =>
      valueOf(s, 'lhcms_request_duration_seconds_count', {
        method: 'GET',
        route: '/test-only/widgets/:id',
      });
    expect(count(samples) - count(before)).toBe(n);
    expect(text).toMatch(/lhcms_request_duration_seconds_bucket\{le="0.25",method="GET"/);
    expect(text).not.toContain('98765432');
  });

  it('counts 404, 401 and 500 with their real status; unknown paths are `unmatched`', async () => {
    const before = (await scrape()).samples;
    expect((await request(api.url, '/no/such/route/31337')).status).toBe(404);
    expect((await request(api.url, '/test-only/private')).status).toBe(401);
    expect((await request(api.url, '/test-only/private', { token: 'wrong' })).status).toBe(401);
    expect((await request(api.url, '/test-only/private', { token: TEST_BEARER })).status).toBe(200);
    const boom = await request(api.url, '/test-only/boom');
    expect(boom.status).toBe(500);
    // The production wiring's answer to an unexpected error: generic, no detail, no stack.
    expect(boom.text).not.toContain(BOOM_DETAIL);
    expect(boom.text).not.toMatch(/\bat .*\.[jt]s:\d+/);
    const { text, samples } = await scrape();
    const delta = (labels: Record<string, string>) =>
      requests(samples, labels) - requests(before, labels);
    expect(delta({ route: 'unmatched', status: '404' })).toBe(1);
    expect(delta({ route: '/test-only/private', status: '401' })).toBe(2);
    expect(delta({ route: '/test-only/private', status: '200' })).toBe(1);
    expect(delta({ route: '/test-only/boom', status: '500' })).toBe(1);
    expect(text).not.toContain('31337');
  });

  it('counts errors Fastify raises before any handler: 400 malformed JSON, 413, 415', async () => {
    const before = (await scrape()).samples;
    const post = (body: string, type = 'application/json') =>
      request(api.url, '/test-only/context', {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    expect((await post('{"broken":')).status).toBe(400);
    expect((await post(JSON.stringify({ big: 'x'.repeat(4096) }))).status).toBe(413);
    expect((await post('<case/>', 'application/xml')).status).toBe(415);
    const { samples } = await scrape();
    const delta = (status: string) =>
      requests(samples, { route: '/test-only/context', status }) -
      requests(before, { route: '/test-only/context', status });
    expect(delta('400')).toBe(1);
    expect(delta('413')).toBe(1);
    expect(delta('415')).toBe(1);
  });

  it('records a client that hangs up before the response as 499, once', async () => {
    const before = (await scrape()).samples;
    const { port } = new URL(api.url);
    const finished = slowRequests.finished;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write('GET /test-only/slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const labels = { route: '/test-only/slow' };
    const byStatus = (s: typeof before, status: string) => requests(s, { ...labels, status });
    // The handler ran to its end (and tried to answer the gone client) and the 499 is recorded.
    const { samples } = await eventually(
      async () => {
        if (slowRequests.finished === finished) return false;
        const scraped = await scrape();
        return byStatus(scraped.samples, '499') > byStatus(before, '499') && scraped;
      },
      5000,
      'the slow handler to finish and the 499',
    );
    expect(byStatus(samples, '499') - byStatus(before, '499')).toBe(1);
    expect(byStatus(samples, '200') - byStatus(before, '200')).toBe(0);
  });

  it('leaves probes and /metrics out of the RED metrics', async () => {
    for (const p of ['/health', '/health/live', '/health/ready', '/health/startup', '/metrics']) {
      await request(api.url, p);
    }
    const { samples } = await scrape();
    const infra = samples.filter(
      (s) => s.name.startsWith('lhcms_request') && /^\/(health|metrics)/.test(s.labels.route ?? ''),
    );
    expect(infra).toEqual([]);
  });

  it('counts case operations of real requests by outcome', async () => {
    const token = await loginSeedUser(ums.url, 'admin');
    const before = (await scrape()).samples;
    const created = await request(api.url, '/api/v1/cases/', {
      method: 'POST',
      token,
      body: { doctor_id: 'm-doc', product_id: 'p', case_type: 'other' },
    });
    expect(created.status).toBe(201);
    expect((await request(api.url, '/api/v1/cases/2147483000', { token })).status).toBe(404);
    const illegal = await request(api.url, `/api/v1/cases/${created.body.id}/status`, {
      method: 'PATCH',
      token,
      body: { status: 'completed' },
    });
    expect(illegal.status).toBe(409);
    const { samples } = await scrape();
    const d = (labels: Record<string, string>) =>
      valueOf(samples, 'lhcms_case_operations_total', labels) -
      valueOf(before, 'lhcms_case_operations_total', labels);
    expect(d({ operation: 'create', status: 'success' })).toBe(1);
    expect(d({ operation: 'read', status: 'client_error' })).toBe(1);
    expect(d({ operation: 'status_change', status: 'client_error' })).toBe(1);
    // The audit module reports through the same service: the create's row, the 404's group-committed row.
    const audit = (mode: string) =>
      valueOf(samples, 'lhcms_audit_write_duration_seconds_count', { mode }) -
      valueOf(before, 'lhcms_audit_write_duration_seconds_count', { mode });
    expect(audit('transactional')).toBeGreaterThanOrEqual(1);
    expect(audit('batch')).toBeGreaterThanOrEqual(1);
  });

  it('exposes the MetricsService API other modules call', async () => {
    const m = api.app.get(MetricsService);
    const before = (await scrape()).samples;
    m.caseOperation('create', 'success');
    m.caseOperation('create', 'client_error');
    m.umsCall('me', 'ok', 0.12);
    m.umsCall('labs', 'timeout', 3);
    m.setUmsCircuitOpen(true);
    m.cacheLookup('principal', true);
    m.cacheLookup('principal', false);
    m.rateLimited();
    m.auditWrite('transactional', 0.004);
    m.auditFailure('batch');
    m.setAuditSealing(12.5, 3);
    const { samples } = await scrape();
    const d = (name: string, labels: Record<string, string> = {}) =>
      valueOf(samples, name, labels) - valueOf(before, name, labels);
    expect(d('lhcms_case_operations_total', { operation: 'create', status: 'success' })).toBe(1);
    expect(d('lhcms_case_operations_total', { operation: 'create', status: 'client_error' })).toBe(
      1,
    );
    expect(d('lhcms_ums_request_duration_seconds_count', { operation: 'me', outcome: 'ok' })).toBe(
      1,
    );
    expect(
      d('lhcms_ums_request_duration_seconds_count', { operation: 'labs', outcome: 'timeout' }),
    ).toBe(1);
    expect(valueOf(samples, 'lhcms_ums_circuit_open')).toBe(1);
    expect(d('lhcms_cache_requests_total', { cache: 'principal', result: 'hit' })).toBe(1);
    expect(d('lhcms_cache_requests_total', { cache: 'principal', result: 'miss' })).toBe(1);
    expect(d('lhcms_rate_limit_rejections_total')).toBe(1);
    expect(d('lhcms_audit_write_duration_seconds_count', { mode: 'transactional' })).toBe(1);
    expect(d('lhcms_audit_write_failures_total', { mode: 'batch' })).toBe(1);
    expect(valueOf(samples, 'lhcms_audit_sealing_lag_seconds')).toBe(12.5);
    expect(valueOf(samples, 'lhcms_audit_unsealed_events')).toBe(3);
    m.setUmsCircuitOpen(false);
    m.setAuditSealing(0, 0);
  });

  it('the readiness UMS check reports as a UMS call (operation "health")', async () => {
    const before = (await scrape()).samples;
    const key = { operation: 'health', outcome: 'ok' };
    // Probes within 1.5 s of an earlier one reuse its result: probe until one checks the UMS.
    const checks = await eventually(
      async () => {
        expect((await request(api.url, '/health/ready')).status).toBe(200);
        const { samples } = await scrape();
        const n =
          valueOf(samples, 'lhcms_ums_request_duration_seconds_count', key) -
          valueOf(before, 'lhcms_ums_request_duration_seconds_count', key);
        return n > 0 && n;
      },
      5000,
      'a readiness probe that checks the UMS',
    );
    expect(checks).toBe(1);
  });
});

describe('rate-limit rejections', () => {
  it('a 429 of the rate limiter is counted, as a response and as a rejection', async () => {
    const ums = await startTestUms({ seed: isolatedSeed().seed });
    const api = await startTestApi(
      testEnv({
        UMS_BASE_URL: ums.url,
        RATE_LIMIT_PER_MINUTE: '2',
        REDIS_KEY_PREFIX: `lhcms-test-rl-${process.pid}-${Date.now()}`,
      }),
    );
    try {
      const scrape = async () => parseMetrics((await request(api.url, '/metrics')).text);
      const before = await scrape();
      const token = await loginSeedUser(ums.url, 'admin');
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await request(api.url, '/api/v1/cases', { token })).status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      const after = await scrape();
      const d = (name: string, labels: Record<string, string> = {}) =>
        valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(d('lhcms_rate_limit_rejections_total')).toBe(1);
      expect(d('lhcms_requests_total', { route: '/api/v1/cases', status: '429' })).toBe(1);
    } finally {
      await api.close();
      await ums.close();
    }
  });
});

describe('/metrics with read replicas', () => {
  it('reports the replica pools as pool="replica" next to the primary', async () => {
    const ums = await startTestUms();
    const replica = testDatabaseUrls().appUrl; // the same server, as a stand-in replica
    const api = await startTestApi(
      testEnv({ UMS_BASE_URL: ums.url, DATABASE_REPLICA_URLS: `${replica},${replica}` }),
    );
    try {
      const samples = parseMetrics((await request(api.url, '/metrics')).text);
      for (const pool of ['primary', 'replica']) {
        for (const state of ['total', 'idle', 'waiting']) {
          expect(samples).toContainEqual(
            expect.objectContaining({ name: 'lhcms_db_pool_connections', labels: { pool, state } }),
          );
        }
      }
    } finally {
      await api.close();
      await ums.close();
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789abcdef';
  let ums: UmsDevServer;
  let api: TestApi;
  beforeAll(async () => {
    ums = await startTestUms();
    api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url, METRICS_TOKEN: token }));
  });
  afterAll(async () => {
    await api?.close();
    await ums?.close();
  });

  it('answers 401 without the bearer token or with a wrong one, 200 with it', async () => {
    const none = await request(api.url, '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.text).not.toContain('lhcms_');
    expect((await request(api.url, '/metrics', { token: 'wrong' })).status).toBe(401);
    expect((await request(api.url, '/metrics', { token: `${token}x` })).status).toBe(401);
    expect((await request(api.url, '/metrics', { headers: { authorization: token } })).status).toBe(
      401,
    );
    const ok = await request(api.url, '/metrics', { token });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE lhcms_requests_total counter');
  });

  it('leaves the probes open', async () => {
    expect((await request(api.url, '/health/live')).status).toBe(200);
  });
});

describeWithTool(promtool(), 'promtool check metrics', (bin) => {
  it("accepts the exposition as Prometheus's own linter reads it", async () => {
    const ums = await startTestUms();
    const api = await startTestApi(testEnv({ UMS_BASE_URL: ums.url }));
    try {
      expect((await request(api.url, '/api/v1/cases/types')).status).toBe(200);
      const text = (await request(api.url, '/metrics', { headers: { accept: PROMETHEUS_ACCEPT } }))
        .text;
      const r = run(bin, ['check', 'metrics'], { input: text });
      // Problems are printed one per line as `<metric> <problem>`; only the app's own families matter here.
      const problems = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('lhcms_'));
      expect(problems).toEqual([]);
      expect(r.stderr).not.toMatch(/error while linting|text format parsing error/i);
    } finally {
      await api.close();
      await ums.close();
    }
  });
});
