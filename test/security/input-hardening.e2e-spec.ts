import { randomBytes } from 'node:crypto';
import {
  type HttpResponse,
  isolatedSeed,
  LogCapture,
  loginSeedUser,
  request,
  startTestApi,
  startTestUms,
  testEnv,
  type TestApi,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { INT4_MAX } from '../../apps/api/src/case-model/case.schemas';

/**
 * Input hardening, walked over the route table: every operation of the
 * OpenAPI document that takes a JSON body, and every one with path
 * parameters, gets each class of hostile input. For each: a 4xx in the one
 * error shape with a request id, never the value sent (a unique marker) in
 * the answer or the logs, and nothing written.
 */

type Schema = Record<string, any>;
interface Operation {
  method: string;
  template: string;
  path: string;
  params: Array<{ name: string; integer: boolean }>;
  query: string[];
  body?: Schema;
  name: string;
}

const BODY_LIMIT = 64 * 1024;
const JSON_MAX_DEPTH = 32;
const ERROR_KEYS = ['code', 'error', 'message', 'request_id', 'timestamp'];

/** A unique marker: the tests look for it in answers and logs. */
const marker = () => `Mk${randomBytes(8).toString('hex')}`;
const markers: string[] = [];
/** Requests answered 501/503 for an unconfigured dependency: their log level is not a client's doing. */
const dependencyAnswers = new Set<string>();
const remember = (m: string) => (markers.push(m), m);

describe('input hardening on every route (a walk of the OpenAPI route table)', () => {
  const logs = new LogCapture();
  let ums: UmsDevServer;
  let api: TestApi;
  let token: string;
  let caseId: number;
  let before: { total: number; version: number; stages: string[] };
  let schemas: Record<string, Schema>;
  let operations: Operation[];

  const as = (path: string, o: Parameters<typeof request>[2] = {}) =>
    request(api.url, path, { ...o, token });

  async function state() {
    const list = await as('/api/v1/cases/?per_page=1');
    const one = await as(`/api/v1/cases/${caseId}`);
    const settings = await as('/api/v1/lab-settings');
    return {
      total: list.body.pagination.total as number,
      version: one.body.version as number,
      stages: settings.body.stages as string[],
    };
  }

  const resolve = (s: Schema | undefined): Schema | undefined => {
    if (!s) return undefined;
    if (s.$ref) return resolve(schemas[String(s.$ref).split('/').pop()!]);
    if (Array.isArray(s.allOf) && s.allOf.length === 1) return resolve(s.allOf[0]);
    return s;
  };

  beforeAll(async () => {
    const seed = isolatedSeed();
    ums = await startTestUms({ seed: seed.seed });
    api = await startTestApi(
      testEnv({
        UMS_BASE_URL: ums.url,
        LOG_LEVEL: 'info',
        BODY_LIMIT_BYTES: String(BODY_LIMIT),
        JSON_MAX_DEPTH: String(JSON_MAX_DEPTH),
      }),
      { logging: { destination: logs } },
    );
    token = await loginSeedUser(ums.url, 'admin');
    const created = await as('/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id: 'd1', product_id: 'p1', case_type: 'other', patient_info: { age: 40 } },
    });
    expect(created.status).toBe(201);
    caseId = created.body.id;

    const doc = (await request(api.url, '/api/v1/openapi.json')).body;
    schemas = doc.components.schemas;
    operations = [];
    for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const query = (op.parameters ?? [])
          .filter((p: any) => p.in === 'query')
          .map((p: any) => String(p.name));
        const params = (op.parameters ?? [])
          .filter((p: any) => p.in === 'path')
          .map((p: any) => ({ name: p.name, integer: p.schema?.type === 'integer' }));
        const body = resolve(op.requestBody?.content?.['application/json']?.schema);
        const o = { template, params };
        operations.push({
          method: method.toUpperCase(),
          template,
          path: concrete(o),
          params,
          query,
          body,
          name: `${method.toUpperCase()} ${template}`,
        });
      }
    }
    before = await state();
  });

  afterAll(async () => {
    await api?.close();
    await ums?.close();
  });

  /** The operation's path with real values (the test case's id, `x1`), `values` winning. */
  function concrete(
    o: Pick<Operation, 'template' | 'params'>,
    values: Record<string, string> = {},
  ): string {
    return o.template.replace(
      /\{([^}]+)\}/g,
      (_m, name: string) =>
        values[name] ?? (o.params.find((p) => p.name === name)?.integer ? String(caseId) : 'x1'),
    );
  }

  const bodyRoutes = () => operations.filter((o) => o.body);
  const paramRoutes = () => operations.filter((o) => o.params.length > 0);

  /** A refusal: the status, the one error shape with a request id, and no marker. */
  function expectRefused(res: HttpResponse, status: number, what: string, ...sent: string[]) {
    expect([what, res.status]).toEqual([what, status]);
    expect([
      what,
      Object.keys(res.body ?? {})
        .filter((k) => k !== 'errors')
        .sort(),
    ]).toEqual([what, ERROR_KEYS]);
    expect(res.body.code).toBe(status);
    expect(res.body.request_id).toEqual(expect.stringMatching(/^\S{8,}$/));
    expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
    for (const m of sent) expect([what, res.text.includes(m)]).toEqual([what, false]);
    return res;
  }

  /** The integer fields of a body schema, as dotted paths (array items as `.0`). */
  function integerPaths(s: Schema | undefined, prefix = ''): Array<{ path: string; max: number }> {
    const r = resolve(s);
    if (!r) return [];
    if (r.type === 'integer') return [{ path: prefix, max: r.maximum }];
    if (r.type === 'array') return integerPaths(r.items, prefix ? `${prefix}.0` : '0');
    return Object.entries<Schema>(r.properties ?? {}).flatMap(([k, v]) =>
      integerPaths(v, prefix ? `${prefix}.${k}` : k),
    );
  }

  /** `{}` with `value` at the dotted path (`.0` makes an array). */
  function bodyWith(path: string, value: string): string {
    const keys = path.split('.');
    let json = value;
    for (let i = keys.length - 1; i >= 0; i--)
      json = /^\d+$/.test(keys[i]) ? `[${json}]` : `{${JSON.stringify(keys[i])}:${json}}`;
    return json;
  }

  const send = (o: Operation, body: string, contentType = 'application/json') =>
    as(o.path, { method: o.method, body, headers: { 'content-type': contentType } });

  it('finds the routes to walk in the OpenAPI document', () => {
    expect(bodyRoutes().map((o) => o.name)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/cases',
        'POST /api/v1/cases/bulk-status',
        'PUT /api/v1/cases/{id}',
        'PATCH /api/v1/cases/{id}/status',
        'PATCH /api/v1/cases/{id}/stage',
        'PUT /api/v1/lab-settings',
        'POST /api/v1/audit-events/patient-access-report',
      ]),
    );
    expect(paramRoutes().length).toBeGreaterThanOrEqual(8);
  });

  it('JSON nested deeper than JSON_MAX_DEPTH is 400 before anything parses it; at the limit it is not', async () => {
    for (const o of bodyRoutes()) {
      const field = Object.keys(o.body!.properties ?? { x: 1 })[0];
      const m = remember(marker());
      const nest = (levels: number) =>
        `{"${field}":${'['.repeat(levels)}"${m}"${']'.repeat(levels)}}`;
      const deep = expectRefused(await send(o, nest(5000)), 400, o.name, m);
      expect(deep.body.errors).toEqual({ '': expect.stringMatching(/deeper than 32 levels/) });
      const over = expectRefused(await send(o, nest(JSON_MAX_DEPTH)), 400, o.name, m);
      expect(over.body.errors['']).toMatch(/deeper than/);
      const at = await send(o, nest(JSON_MAX_DEPTH - 1));
      expect([o.name, at.body?.errors?.['']]).toEqual([o.name, undefined]);
    }
  });

  it('every integer of every body is range-checked (int4) and must be finite: 400 naming the field, never the number', async () => {
    const table = bodyRoutes().flatMap((o) => integerPaths(o.body).map((p) => ({ o, ...p })));
    expect(table.map((t) => `${t.o.name} ${t.path}`)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/cases/bulk-status case_ids.0',
        'POST /api/v1/cases patient_info.age',
        'POST /api/v1/cases fixed_prosthetic.tooth_numbers.0',
        'POST /api/v1/cases implant.tooth_number',
        'POST /api/v1/audit-events/patient-access-report limit',
      ]),
    );
    for (const { o, path, max } of table) {
      expect([o.name, path, max <= INT4_MAX]).toEqual([o.name, path, true]);
      const big = remember(String(INT4_MAX * 10_000 + Math.floor(Math.random() * 10_000)));
      const res = expectRefused(await send(o, bodyWith(path, big)), 400, `${o.name} ${path}`, big);
      expect(res.body.errors[path]).toMatch(/maximum/);
      for (const inf of ['1e400', '-1e400']) {
        const r = expectRefused(await send(o, bodyWith(path, inf)), 400, `${o.name} ${path}`);
        expect(r.body.errors[path]).toBe('must be a finite number');
      }
    }
  });

  it('wrong values name the field and the rule, never the value', async () => {
    for (const o of bodyRoutes()) {
      const props = Object.entries<Schema>(o.body!.properties ?? {});
      // A body of no fields (`{}`, e.g. a webhook redeliver) has no value to get wrong.
      if (props.length === 0) continue;
      const body: Record<string, unknown> = {};
      const sent: string[] = [];
      for (const [k, raw] of props) {
        const s = resolve(raw)!;
        const m = remember(marker());
        sent.push(m);
        // A plain string gets an over-long value or a wrong type; anything else the marker string.
        body[k] =
          s.type === 'string' && !s.enum && !s.pattern && !s.format
            ? s.maxLength
              ? `${m}${'x'.repeat(s.maxLength)}`
              : [m]
            : m;
      }
      const res = expectRefused(await send(o, JSON.stringify(body)), 400, o.name, ...sent);
      for (const [k] of props)
        expect([o.name, k, typeof res.body.errors[k]]).toEqual([o.name, k, 'string']);
    }
  });

  it("keys the API does not declare are never named (a patient_info key can be PHI): the parent's path is", async () => {
    for (const o of bodyRoutes()) {
      const k1 = remember(marker());
      const k2 = remember(marker());
      const v = remember(marker());
      const res = expectRefused(
        await send(o, `{"${k1}":1e400,"${k2}":{"a":"${v}\\u0000"},"x\\u0000${k1}":1}`),
        400,
        o.name,
        k1,
        k2,
        v,
      );
      expect(Object.keys(res.body.errors)).toEqual(['']);
    }
    const o = operations.find((x) => x.name === 'POST /api/v1/cases')!;
    const key = remember(marker());
    const res = expectRefused(
      await send(
        o,
        `{"doctor_id":"d1","product_id":"p1","case_type":"other","patient_info":{"${key}":-1e400,"age":1e400}}`,
      ),
      400,
      o.name,
      key,
    );
    expect(res.body.errors).toEqual({
      patient_info: 'must be a finite number',
      'patient_info.age': 'must be a finite number',
    });
  });

  it('a body that is not JSON is 415 on every JSON route, whatever else it is', async () => {
    for (const o of bodyRoutes()) {
      const m = remember(marker());
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', `status=pending&case_ids=1&a=${m}`],
        ['application/x-www-form-urlencoded', ''],
        [
          'multipart/form-data; boundary=XX',
          `--XX\r\nContent-Disposition: form-data; name="a"\r\n\r\n${m}\r\n--XX--\r\n`,
        ],
        ['text/plain', `{"a":"${m}"}`],
        ['application/xml', `<a>${m}</a>`],
        ['application/jsonp', `{"a":"${m}"}`],
      ])
        expectRefused(await send(o, body, type), 415, `${o.name} ${type}`, m);
      // +json types are JSON.
      const merge = await send(o, '{}', 'application/merge-patch+json; charset=utf-8');
      expect([o.name, merge.status]).not.toEqual([o.name, 415]);
    }
  });

  it('malformed JSON, prototype keys and over-large bodies are 400/400/413 in the one shape', async () => {
    for (const o of bodyRoutes()) {
      const m = remember(marker());
      expectRefused(await send(o, `{"a":"${m}"`), 400, o.name, m);
      expectRefused(await send(o, `{"__proto__":{"a":"${m}"}}`), 400, o.name, m);
      expectRefused(await send(o, `{"a":"${m}${'x'.repeat(BODY_LIMIT)}"}`), 413, o.name, m);
    }
  });

  it('path parameters: too long (414), beyond int4, or anything: a 4xx in the one shape, never echoed', async () => {
    for (const o of paramRoutes()) {
      for (const p of o.params) {
        const m = remember(marker());
        const at = (value: string) =>
          as(concrete(o, { [p.name]: value }), {
            method: o.method,
            body: o.body ? '{}' : undefined,
          });
        expectRefused(await at(`${m}${'x'.repeat(200)}`), 414, `${o.name} long ${p.name}`, m);
        // Beyond int4 (an id) and a marker: refused without being repeated. The request line logs
        // the path by design (ids and case numbers are not PHI), so these are not checked in the logs.
        const values = p.integer
          ? [String(INT4_MAX + 1), `9${m.replace(/\D/g, '')}0000000000`, marker()]
          : [marker(), `${marker()}\u00e9`];
        for (const v of values) {
          const r = await at(encodeURIComponent(v));
          const what = `${o.name} ${p.name}=${v}`;
          // doctor-info answers 501 while the directory is not configured (its documented answer).
          expect([what, r.status >= 400 && r.status !== 500]).toEqual([what, true]);
          expectRefused(r, r.status, what, v);
          if (r.status > 500) dependencyAnswers.add(r.body.request_id);
        }
      }
    }
  });

  it('query parameters: out-of-range numbers, impossible dates and forged cursors are a 4xx, never a 5xx or an echo', async () => {
    const cursor = (text: string) => Buffer.from(text).toString('base64url');
    const hostile = [
      '99999999999999999999',
      '2147483648',
      '-1',
      '1e400',
      '1',
      '2026-02-30',
      '2026-13-45T99:99:99.999999Z',
      'Tue, 31 Feb 2026',
      cursor('2026-13-45T99:99:99.999999Z|1'),
      cursor('2026-01-01T00:00:00.000000Z|9999999999'),
      cursor('2026-01-01T00:00:00.000000Z|9999999999999999999'),
      cursor('q1|due_date|AAAAAAAAAAAAAAAA|2026-02-30|1'),
      cursor('q1|-ship_by|AAAAAAAAAAAAAAAA|2026-01-01|99999999999'),
      cursor('q1|due_date|AAAAAAAAAAAAAAAA||1'),
      cursor("q1|created_at|AAAAAAAAAAAAAAAA|2026-01-01T00:00:00.000000Z';--|1"),
      'due_date',
      '-due_date',
      'maybe',
    ];
    const withQuery = operations.filter((o) => o.method === 'GET' && o.query.length > 0);
    expect(withQuery.length).toBeGreaterThanOrEqual(4);
    const failures: string[] = [];
    for (const o of withQuery) {
      for (const q of o.query) {
        const m = marker();
        for (const v of [m, ...hostile]) {
          const res = await as(`${o.path}?${q}=${encodeURIComponent(v)}`);
          const what = `${o.name}?${q}=${v}`;
          if (res.status >= 500) failures.push(`${what} -> ${res.status}`);
          else if (res.status >= 400) expectRefused(res, res.status, what, m);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('every method on the docs, the OpenAPI documents and unknown paths: the one shape, and a 405 never allows the method it refuses', async () => {
    const paths = [
      '/docs',
      '/docs/',
      '/docs/nothing-here',
      '/docs/static/index.html',
      '/api/v1/openapi.json',
      '/api/v1/swagger.json',
      '/api/v1/openapi.yaml',
      '/api/v1/nothing',
      '/nothing',
    ];
    for (const p of paths) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const res = await request(api.url, p, { method });
        const what = `${method} ${p}`;
        if (res.status < 400) continue;
        if (method !== 'HEAD') expectRefused(res, res.status, what);
        if (res.status === 405) {
          const allow = (res.headers.get('allow') ?? '').split(/,\s*/);
          expect([what, allow.includes(method)]).toEqual([what, false]);
        }
        if (method === 'GET' || method === 'HEAD')
          expect([what, res.status]).not.toEqual([what, 405]);
      }
    }
  });

  it('the patient access report validates its body like every other: wrong types and over-limit values are 400', async () => {
    const path = '/api/v1/audit-events/patient-access-report';
    const post = (body: unknown) => as(path, { method: 'POST', body });
    for (const [body, field] of [
      [{ patient_id: 12345 }, 'patient_id'],
      [{ patient_id: 'p', limit: 501 }, 'limit'],
      [{ patient_id: 'p', limit: '50' }, 'limit'],
      [{ patient_id: 'p', from: 'yesterday' }, 'from'],
      [{ patient_id: 'x'.repeat(101) }, 'patient_id'],
    ] as const) {
      const res = expectRefused(await post(body), 400, JSON.stringify(body));
      expect(Object.keys(res.body.errors)).toEqual([field]);
    }
    expect((await post({ patient_id: 'p', limit: 500 })).status).toBe(200);
  });

  it('a bulk status change in which no item succeeds is an answer, not a fault: no error-level log', async () => {
    const res = await as('/api/v1/cases/bulk-status', {
      method: 'POST',
      body: { case_ids: [INT4_MAX], status: 'completed' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ succeeded: 0, failed: 1 });
    const id = res.headers.get('x-request-id')!;
    expect(logs.lines().filter((l) => l.level === 'error' && l.request_id === id)).toEqual([]);
    expect(logs.raw()).not.toMatch(/without a transactional audit row/);
  });

  it('nothing was written, nothing sent was logged, and no client mistake logged an error', async () => {
    expect(markers.length).toBeGreaterThan(50);
    expect(await state()).toEqual(before);
    const raw = logs.raw();
    expect(raw.length).toBeGreaterThan(0);
    expect(markers.filter((m) => raw.includes(m))).toEqual([]);
    expect(
      logs
        .lines()
        .filter((l) => l.level === 'error' || l.level === 'fatal')
        .filter((l) => !dependencyAnswers.has(String(l.request_id))),
    ).toEqual([]);
  });
});
