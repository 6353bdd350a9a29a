import { request, startStack, TEST_JWT_SECRET, type Stack } from '@lhcms/testing';
import { SignJWT } from 'jose';

const sign = (
  claims: Record<string, unknown>,
  opts: { secret?: string; exp?: number; alg?: string } = {},
) =>
  new SignJWT({ type: 'access', ...claims })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
    .setSubject('1')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));

describe('ums-gateway with a shape A+B UMS', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ umsApiKey: 'ums-key-123' });
  });
  afterAll(() => s.close());

  it('resolves the principal from /me once, then serves from the cache', async () => {
    const before = s.ums.stats.me;
    for (let i = 0; i < 5; i++) expect((await s.as('tech', '/api/v1/cases/')).status).toBe(200);
    expect(s.ums.stats.me - before).toBe(1);
  });

  it('keeps a principal in the process for a few seconds in front of the shared cache', async () => {
    const token = await s.token('viewer');
    const hits = async () => {
      const m = (await request(s.api.url, '/metrics')).text;
      const line = m
        .split('\n')
        .find((l) =>
          l.startsWith('lhcms_cache_requests_total{cache="principal_local",result="hit"}'),
        );
      return line ? Number(line.split(' ').pop()) : 0;
    };
    await request(s.api.url, '/api/v1/cases/', { token });
    const before = await hits();
    for (let i = 0; i < 3; i++)
      expect((await request(s.api.url, '/api/v1/cases/', { token })).status).toBe(200);
    expect((await hits()) - before).toBe(3);
  });

  it('sends X-API-Key on every UMS call when UMS_API_KEY is set', async () => {
    await s.as('viewer', '/api/v1/cases/');
    expect(s.ums.stats.apiKeys.length).toBeGreaterThan(0);
    expect(s.ums.stats.apiKeys.every((k) => k === 'ums-key-123')).toBe(true);
  });

  it('rejects bad tokens locally with 401 and no UMS call', async () => {
    const before = s.ums.stats.requests;
    const expired = await sign({}, { exp: Math.floor(Date.now() / 1000) - 3600 });
    const forged = await sign({}, { secret: 'not-the-ums-secret-at-all-0123' });
    const refresh = await sign({ type: 'refresh' });
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: '1', type: 'access', exp: 9999999999 })).toString('base64url')}.`;
    for (const t of ['garbage', 'a.b.c', expired, forged, refresh, unsigned]) {
      const res = await request(s.api.url, '/api/v1/cases/', { token: t });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Invalid or expired token');
    }
    expect(s.ums.stats.requests).toBe(before);
  });

  it('a token the UMS rejects is 401, and the rejection is cached briefly', async () => {
    // Well-signed, but for a user the UMS does not know.
    const ghost = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('424242')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const before = s.ums.stats.me;
    expect((await request(s.api.url, '/api/v1/cases/', { token: ghost })).status).toBe(401);
    expect((await request(s.api.url, '/api/v1/cases/', { token: ghost })).status).toBe(401);
    expect(s.ums.stats.me - before).toBe(1);
  });

  it('concurrent first requests with one token share one UMS call', async () => {
    const token = await s.token('lab2admin');
    const before = s.ums.stats.me;
    const all = await Promise.all(
      Array.from({ length: 10 }, () => request(s.api.url, '/api/v1/cases/', { token })),
    );
    expect(
      all.map((r) => (r.status === 200 ? 200 : `${r.status} ${JSON.stringify(r.body)}`)),
    ).toEqual(Array(10).fill(200));
    expect(s.ums.stats.me - before).toBe(1);
  });
});

describe('ums-gateway with a shape B UMS (the published LHUMS)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ shape: 'B' });
  });
  afterAll(() => s.close());

  it('takes memberships from /api/labs and serves the lab', async () => {
    const res = await s.as('admin', '/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id: 'b', product_id: 'p', case_type: 'other' },
    });
    expect(res.status).toBe(201);
    expect(res.body.lab_id).toBe(String(s.labs.lab1));
    expect(s.ums.stats.labs).toBeGreaterThan(0);
  });

  it('a user without labs gets 403; so does a system admin, whom /api/labs lists every lab', async () => {
    expect((await s.as('nolab', '/api/v1/cases/')).status).toBe(403);
    // No implicit access (issue 19): the UMS lists every active lab to a system admin, which
    // says nothing about memberships; an emergency grant is the way in (docs/hipaa.md).
    const lab2 = await s.as('sysadmin', '/api/v1/cases/', {
      headers: { 'x-lab-id': String(s.labs.lab2) },
    });
    expect(lab2.status).toBe(403);
    expect((await s.as('sysadmin', '/api/v1/cases/')).status).toBe(403);
    const grant = await s.as('sysadmin', '/api/v1/emergency-access', {
      method: 'POST',
      body: { lab_id: String(s.labs.lab2), reason: 'shape B: the UMS says the lab exists' },
    });
    expect(grant.status).toBe(201);
    const under = await s.as('sysadmin', '/api/v1/cases/', {
      headers: { 'x-lab-id': String(s.labs.lab2), 'x-emergency-grant': grant.body.id },
    });
    expect(under.status).toBe(200);
  });
});

describe('ums-gateway when the UMS goes down', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      env: {
        UMS_RETRIES: '1',
        UMS_TIMEOUT_MS: '500',
        UMS_BREAKER_THRESHOLD: '2',
        UMS_BREAKER_RESET_MS: '60000',
      },
    });
  });
  afterAll(() => s.close());

  it('keeps serving cached principals and answers 503 for unknown tokens', async () => {
    const cachedToken = await s.token('admin');
    const freshToken = await s.token('tech');
    expect((await request(s.api.url, '/api/v1/cases/', { token: cachedToken })).status).toBe(200);

    await s.ums.close();

    const cached = await request(s.api.url, '/api/v1/cases/', { token: cachedToken });
    expect(cached.status).toBe(200);
    const unknown = await request(s.api.url, '/api/v1/cases/', { token: freshToken });
    expect(unknown.status).toBe(503);
    expect(unknown.body.message).toBe('Authentication service unavailable');
    // The breaker is open now: the answer is immediate.
    const t0 = performance.now();
    const again = await request(s.api.url, '/api/v1/cases/', { token: freshToken });
    expect(again.status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
