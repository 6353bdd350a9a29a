import {
  LogCapture,
  request,
  startTestApi,
  startTestUms,
  testEnv,
  type TestApi,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { ClsServiceManager } from 'nestjs-cls';
import { AllExceptionsFilter } from '../../apps/api/src/common/errors/all-exceptions.filter';
import {
  BOOM_DETAIL,
  ObservabilityTestModule,
  PHI_MARKER,
  TEST_BEARER,
  TEST_LAB_ID,
  TEST_USER_ID,
} from '../support/observability-test.module';
import { splitBodyRequest } from './raw-http';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const COOKIE_SECRET = 'session=COOKIE-SECRET-5150';

/** A body full of PHI in the fields the logger must redact, at several depths. */
function phiBody(extra: Record<string, unknown> = {}) {
  return {
    case_name: `Crown for ${PHI_MARKER}`,
    patient_info: { first_name: PHI_MARKER, last_name: PHI_MARKER, date_of_birth: '1970-01-01' },
    special_instructions: `call ${PHI_MARKER}`,
    notes: [PHI_MARKER],
    nested: { deeper: { patient_name: PHI_MARKER } },
    ...extra,
  };
}

describe('request context and logs (captured pino output of the real app)', () => {
  const logs = new LogCapture();
  const seenByFilter = new Map<string, string | null>();
  let ums: UmsDevServer;
  let api: TestApi;

  beforeAll(async () => {
    // What the app's exception filter sees of the request context, by request id.
    const catchError = AllExceptionsFilter.prototype.catch;
    jest.spyOn(AllExceptionsFilter.prototype, 'catch').mockImplementation(function (
      this: AllExceptionsFilter,
      exception,
      host,
    ) {
      const cls = ClsServiceManager.getClsService();
      const req = host.switchToHttp().getRequest<{ id: string }>();
      seenByFilter.set(req.id, cls.isActive() ? (cls.getId() ?? null) : null);
      return catchError.call(this, exception, host);
    });
    ums = await startTestUms();
    api = await startTestApi(
      testEnv({ UMS_BASE_URL: ums.url, LOG_LEVEL: 'debug', BODY_LIMIT_BYTES: '2048' }),
      { imports: [ObservabilityTestModule], logging: { destination: logs } },
    );
  });
  afterAll(async () => {
    await api?.close();
    await ums?.close();
  });

  const post = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    splitBodyRequest(api.url, {
      method: 'POST',
      path: '/test-only/context',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TEST_BEARER}`,
        cookie: COOKIE_SECRET,
        'x-request-id': id,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('request id', () => {
    it('keeps a valid inbound X-Request-Id and echoes it', async () => {
      const res = await request(api.url, '/health/live', {
        headers: { 'x-request-id': 'abc-123-XYZ.9' },
      });
      expect(res.headers.get('x-request-id')).toBe('abc-123-XYZ.9');
    });

    it('takes the trace id of a valid traceparent', async () => {
      const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await request(api.url, '/health/live', { headers: { traceparent: tp } });
      expect(res.headers.get('x-request-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    });

    it('generates a UUID for a missing or invalid one (also on a 404)', async () => {
      const a = await request(api.url, '/health/live', { headers: { 'x-request-id': 'bad\tid' } });
      expect(a.headers.get('x-request-id')).toMatch(UUID);
      const b = await request(api.url, '/nowhere');
      expect(b.status).toBe(404);
      expect(b.headers.get('x-request-id')).toMatch(UUID);
    });
  });

  describe('the context survives Fastify body parsing (body in its own TCP segment)', () => {
    it('guard, pipe and handler of a POST all see the request id', async () => {
      const id = 'ctx-post-ok-0001';
      const res = await post(id, phiBody());
      expect(res.status).toBe(201);
      expect(res.headers['x-request-id']).toBe(id);
      expect(res.body).toEqual({
        guard_request_id: id,
        pipe_request_id: id,
        handler_request_id: id,
        user_id: TEST_USER_ID,
      });
    });

    it('an exception filter sees it for a handler error after the body was parsed', async () => {
      const id = 'ctx-post-fail-0002';
      const res = await post(id, phiBody({ fail: true }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 400, request_id: id });
      expect(seenByFilter.get(id)).toBe(id);
    });

    it('an exception filter sees it for errors Fastify raises: malformed JSON, 413, 404', async () => {
      const bad = await post('ctx-malformed-0003', '{"patient_name": "x",');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ request_id: 'ctx-malformed-0003' });
      expect(seenByFilter.get('ctx-malformed-0003')).toBe('ctx-malformed-0003');

      const big = await post('ctx-too-large-0004', { notes: 'x'.repeat(4096) });
      expect(big.status).toBe(413);
      expect(seenByFilter.get('ctx-too-large-0004')).toBe('ctx-too-large-0004');

      const missing = await request(api.url, '/nowhere/at/all', {
        method: 'POST',
        body: { a: 1 },
        headers: { 'x-request-id': 'ctx-not-found-0005' },
      });
      expect(missing.status).toBe(404);
      expect(seenByFilter.get('ctx-not-found-0005')).toBe('ctx-not-found-0005');
    });

    it('a guard error (401) reaches the filter with the request id', async () => {
      const res = await post('ctx-unauth-0006', phiBody(), { authorization: 'Bearer nope' });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ request_id: 'ctx-unauth-0006' });
      expect(seenByFilter.get('ctx-unauth-0006')).toBe('ctx-unauth-0006');
    });
  });

  describe('log lines', () => {
    it('one request line per request with id, route template, status, duration, user and lab', async () => {
      const id = 'log-request-line-0007';
      expect((await post(id, phiBody())).status).toBe(201);
      const lines = logs.forRequest(id);
      const done = lines.filter((l) => l.msg === 'request completed');
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({
        level: 'info',
        service: 'lhcms',
        request_id: id,
        method: 'POST',
        route: '/test-only/context',
        path: '/test-only/context',
        status: 201,
        user_id: TEST_USER_ID,
        lab_id: TEST_LAB_ID,
      });
      expect(typeof done[0].duration_ms).toBe('number');
      expect(typeof done[0].time).toBe('string');
    });

    it('application lines inside the request carry its id; PHI fields, the token and cookies are redacted', async () => {
      const id = 'log-app-line-0008';
      expect((await post(id, phiBody())).status).toBe(201);
      const app = logs.forRequest(id).find((l) => l.msg === 'received a case');
      expect(app).toBeDefined();
      expect(app).toMatchObject({ level: 'info', context: 'TestOnly', request_id: id });
      const body = app!.body as Record<string, any>;
      expect(body.case_name).toBe('[REDACTED]');
      expect(body.patient_info).toBe('[REDACTED]');
      expect(body.nested.deeper.patient_name).toBe('[REDACTED]');
      const headers = app!.headers as Record<string, string>;
      expect(headers.authorization).toBe('[REDACTED]');
      expect(headers.cookie).toBe('[REDACTED]');
      expect(headers['x-request-id']).toBe(id);
    });

    it('an unexpected error is logged with the request id, the stack in the log only', async () => {
      const id = 'log-boom-0009';
      const res = await request(api.url, '/test-only/boom', { headers: { 'x-request-id': id } });
      expect(res.status).toBe(500);
      expect(res.text).not.toContain(BOOM_DETAIL);
      expect(res.body).toMatchObject({ request_id: id, message: 'Internal server error' });
      expect(res.text).not.toMatch(/\bat .*\.[jt]s:\d+/);
      expect(seenByFilter.get(id)).toBe(id);
      const lines = logs.forRequest(id);
      const error = lines.find((l) => l.context === 'Errors');
      expect(error).toMatchObject({ level: 'error' });
      expect(JSON.stringify(error)).toContain(BOOM_DETAIL);
      expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
        level: 'error',
        status: 500,
        route: '/test-only/boom',
      });
    });

    it('404s are logged with route `unmatched`; probes and /metrics only at debug', async () => {
      await request(api.url, '/missing/99', { headers: { 'x-request-id': 'log-unmatched-0010' } });
      expect(
        logs.forRequest('log-unmatched-0010').find((l) => l.msg === 'request completed'),
      ).toMatchObject({ level: 'warn', route: 'unmatched', status: 404 });
      for (const [p, id] of [
        ['/health/live', 'log-probe-live-0011'],
        ['/health/ready', 'log-probe-ready-0012'],
        ['/health', 'log-probe-seed-0013'],
        ['/metrics', 'log-scrape-0014'],
      ]) {
        await request(api.url, p, { headers: { 'x-request-id': id } });
        const line = logs.forRequest(id).find((l) => l.msg === 'request completed');
        expect(line).toMatchObject({ level: 'debug' });
      }
    });

    it('no seeded PHI marker and no token anywhere in the captured output', async () => {
      await post('log-final-0015', phiBody());
      await post('log-final-0016', phiBody({ fail: true }));
      const raw = logs.raw();
      expect(raw.length).toBeGreaterThan(0);
      expect(raw).not.toContain(PHI_MARKER);
      expect(raw).not.toContain(TEST_BEARER);
      expect(raw).not.toContain('SECRET-TOKEN');
      expect(raw).not.toContain('COOKIE-SECRET');
      // Every line is JSON with a level and a time.
      for (const l of logs.lines()) {
        expect(typeof l.level).toBe('string');
        expect(typeof l.time).toBe('string');
      }
    });
  });
});
