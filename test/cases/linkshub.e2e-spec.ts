import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, request, startStack, type Stack } from '@lhcms/testing';
import { SLO_EXCLUDED_5XX } from '../../apps/api/src/metrics/metric-catalogue';
import { parseMetrics, type Sample } from '../observability/metrics-scrape';

const DOCTOR_INFO_ROUTE = '/api/v1/cases/doctor-info/:doctor_id';

/** What the error SLO counts as failed (5xx but SLO_EXCLUDED_5XX), and all responses, of one route. */
function sloCounts(samples: Sample[], route: string) {
  const ours = samples.filter((x) => x.name === 'lhcms_requests_total' && x.labels.route === route);
  const sum = (xs: Sample[]) => xs.reduce((n, x) => n + x.value, 0);
  return {
    all: sum(ours),
    errors: sum(
      ours.filter(
        (x) =>
          /^5\d\d$/.test(x.labels.status) &&
          !(SLO_EXCLUDED_5XX as readonly string[]).includes(x.labels.status),
      ),
    ),
    byStatus: (status: string) => sum(ours.filter((x) => x.labels.status === status)),
  };
}

/** A stand-in for LinksHub Core (no public implementation exists): real HTTP on loopback. */
function fakeLinksHub(labId: () => string) {
  const seen: Array<{ path: string; auth?: string }> = [];
  const doctors: Record<string, unknown> = {
    'doc-ok': {
      doctor_id: 'doc-ok',
      first_name: 'Dana',
      last_name: 'Dent',
      email: 'd@x.test',
      lab_relations: [1, '2'],
      address: { city: 'Oslo' },
      is_active: true,
      extra: 'dropped',
    },
    'doc-unlinked': { doctor_id: 'doc-unlinked', first_name: 'Una' },
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    seen.push({ path, auth: req.headers.authorization });
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (path === '/api/v1/doctors/doc-boom') return send(500);
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/doctors\/([^/]+)\/labs\/([^/]+)\/relation$/.exec(path))) {
      return send(200, { is_active: m[1] === 'doc-ok' && m[2] === labId() });
    }
    if ((m = /^\/api\/v1\/doctors\/([^/]+)$/.exec(path))) {
      return doctors[m[1]] ? send(200, doctors[m[1]]) : send(404, { error: 'not found' });
    }
    if ((m = /^\/api\/v1\/products\/([^/]+)$/.exec(path)))
      return m[1] === 'prod-ok' ? send(200, { id: m[1] }) : send(404);
    return send(404);
  });
  return { server, seen };
}

describe('LinksHub Core (doctor directory), when configured', () => {
  let s: Stack;
  let hub: ReturnType<typeof fakeLinksHub>;

  beforeAll(async () => {
    hub = fakeLinksHub(() => String(s.labs.lab1));
    await new Promise<void>((r) => hub.server.listen(0, '127.0.0.1', r));
    const port = (hub.server.address() as AddressInfo).port;
    s = await startStack({
      env: { LINKSHUB_CORE_URL: `http://127.0.0.1:${port}`, LINKSHUB_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => hub.server.close(r));
  });

  const create = (doctor_id: string, product_id: string) =>
    s.as('admin', '/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id, product_id, case_type: 'other' },
    });

  it('creates when the doctor exists, is linked to the lab, and the product exists; forwards the bearer', async () => {
    const res = await create('doc-ok', 'prod-ok');
    expect(res.status).toBe(201);
    const token = await s.token('admin');
    expect(hub.seen.slice(-3).map((x) => x.path)).toEqual([
      '/api/v1/doctors/doc-ok',
      `/api/v1/doctors/doc-ok/labs/${s.labs.lab1}/relation`,
      '/api/v1/products/prod-ok',
    ]);
    expect(hub.seen.slice(-3).every((x) => x.auth === `Bearer ${token}`)).toBe(true);
  });

  it.each([
    ['doc-nobody', 'prod-ok', 'Doctor not found'],
    ['doc-unlinked', 'prod-ok', 'Doctor is not associated with your lab'],
    ['doc-ok', 'prod-nothing', 'Product not found'],
  ])('%s / %s is 400 "%s"', async (doctor, product, message) => {
    const res = await create(doctor, product);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
  });

  it('doctor-info marshals the directory record (no lab needed), 404 for an unknown doctor', async () => {
    const res = await s.as('nolab', '/api/v1/cases/doctor-info/doc-ok');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      doctor_id: 'doc-ok',
      first_name: 'Dana',
      last_name: 'Dent',
      email: 'd@x.test',
      phone: null,
      practice_name: null,
      license_number: null,
      specialty: null,
      address: { street: null, city: 'Oslo', state: null, zip_code: null, country: null },
      lab_relations: ['1', '2'],
      created_at: null,
      is_active: true,
    });
    expect((await s.as('nolab', '/api/v1/cases/doctor-info/doc-nobody')).status).toBe(404);
    expect((await s.as('nolab', '/api/v1/cases/doctor-info/doc-boom')).status).toBe(503);
  });
});

describe('LinksHub Core configured but unreachable', () => {
  it('create and doctor-info answer 503, and nothing is written', async () => {
    const s = await startStack({
      env: {
        LINKSHUB_CORE_URL: `http://127.0.0.1:${await freePort()}`,
        LINKSHUB_TIMEOUT_MS: '500',
      },
    });
    try {
      const res = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'down-doc', product_id: 'p', case_type: 'other' },
      });
      expect(res.status).toBe(503);
      expect(res.body.message).toMatch(/unavailable/);
      expect((await s.as('admin', '/api/v1/cases/?doctor_id=down-doc')).body.pagination.total).toBe(
        0,
      );
      expect((await s.as('admin', '/api/v1/cases/doctor-info/x')).status).toBe(503);
    } finally {
      await s.close();
    }
  });
});

describe('LinksHub Core not configured (LINKSHUB_CORE_URL unset)', () => {
  it('doctor-info is 501 in the one error shape, counted by route but not against the error SLO', async () => {
    const s = await startStack();
    try {
      const scrape = async () => parseMetrics((await request(s.api.url, '/metrics')).text);
      const before = sloCounts(await scrape(), DOCTOR_INFO_ROUTE);
      for (let i = 0; i < 3; i++) {
        const res = await s.as('nolab', `/api/v1/cases/doctor-info/doc-${i}`);
        expect(res.status).toBe(501);
        expect(res.body).toEqual({
          error: 'Not Implemented',
          message: 'Doctor directory (LinksHub Core) is not configured',
          code: 501,
          timestamp: expect.any(String),
          request_id: expect.any(String),
        });
      }
      // Create skips the directory checks rather than failing.
      const created = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'any-doc', product_id: 'p', case_type: 'other' },
      });
      expect(created.status).toBe(201);
      const after = sloCounts(await scrape(), DOCTOR_INFO_ROUTE);
      expect(after.all - before.all).toBe(3);
      expect(after.byStatus('501') - before.byStatus('501')).toBe(3);
      expect(after.errors - before.errors).toBe(0);
    } finally {
      await s.close();
    }
  });
});
