import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type GenerateKeyPairResult, SignJWT } from 'jose';

type KeyPair = GenerateKeyPairResult;
type PrivateKey = KeyPair['privateKey'];
import { request, startStack, startTestApi, testEnv, type Stack } from '@lhcms/testing';

const EXPECTED_HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
};

describe('security headers and CORS', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ env: { CORS_ORIGINS: 'https://portal.example.test' } });
  });
  afterAll(() => s.close());

  it.each([
    ['GET', '/health', undefined],
    ['GET', '/api/v1/cases/types', undefined],
    ['GET', '/api/v1/cases/', undefined],
    ['GET', '/api/v1/nothing', undefined],
    ['POST', '/api/v1/cases/', '{bad'],
    ['GET', '/docs', undefined],
  ])('%s %s carries the security headers', async (method, path, body) => {
    const res = await request(s.api.url, path, {
      method,
      body,
      headers: body ? { 'content-type': 'application/json' } : {},
    });
    for (const [k, v] of Object.entries(EXPECTED_HEADERS))
      expect([k, res.headers.get(k)]).toEqual([k, v]);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('answers that can hold PHI are not cacheable; reference data is', async () => {
    expect((await s.as('admin', '/api/v1/cases/')).headers.get('cache-control')).toBe('no-store');
    expect((await request(s.api.url, '/api/v1/cases/shades')).headers.get('cache-control')).toBe(
      'public, max-age=3600',
    );
  });

  it('CORS: an allowed origin is echoed (with the preflight), any other gets no CORS headers', async () => {
    const ok = await request(s.api.url, '/api/v1/cases/types', {
      headers: { origin: 'https://portal.example.test' },
    });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://portal.example.test');
    const evil = await request(s.api.url, '/api/v1/cases/types', {
      headers: { origin: 'https://evil.example' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await request(s.api.url, '/api/v1/cases/', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://portal.example.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-lab-id',
      },
    });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-Lab-Id/i);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
  });
});

describe('rate limiting across replicas sharing Redis', () => {
  const redis = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
  let a: Stack;
  let b: Awaited<ReturnType<typeof startTestApi>>;

  beforeAll(async () => {
    const shared = {
      REDIS_URL: redis,
      REDIS_KEY_PREFIX: `lhcms-rl-test-${Date.now()}`,
      RATE_LIMIT_PER_MINUTE: '6',
    };
    a = await startStack({ env: shared });
    b = await startTestApi(testEnv({ ...shared, UMS_BASE_URL: a.ums.url }));
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('counts one user across both instances, then answers 429 with Retry-After in the error shape', async () => {
    const token = await a.token('tech');
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 6; i++) {
      last = await request(i % 2 ? b.url : a.api.url, '/api/v1/cases/', { token });
      statuses.push(last.status);
      expect(last.headers.get('x-ratelimit-limit')).toBe('6');
      expect(last.headers.get('x-ratelimit-remaining')).toBe(String(5 - i));
      expect(Number(last.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const limited = await request(b.url, '/api/v1/cases/', { token });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ error: 'Too Many Requests', code: 429 });
    expect(limited.body.request_id).toBe(limited.headers.get('x-request-id'));
    // The rejection carries the same rate-limit headers as every other answer.
    expect(limited.headers.get('x-ratelimit-limit')).toBe('6');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    // Another user has their own bucket.
    expect((await a.as('viewer', '/api/v1/cases/')).status).toBe(200);
    // Public routes (probes, reference data) are not limited per user.
    expect((await request(a.api.url, '/api/v1/cases/types', { token })).status).toBe(200);
  });
});

describe('RS256/ES256 tokens through a JWKS', () => {
  let jwks: Server;
  let s: Stack;
  let rsa: KeyPair;
  let ec: KeyPair;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    s = await startStack({
      env: {
        UMS_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        JWT_ALGORITHM: 'RS256,ES256',
        JWT_SECRET_KEY: '',
      },
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => jwks.close(r));
  });

  const sign = (alg: 'RS256' | 'ES256', key: PrivateKey, kid: string) =>
    new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg, kid })
      .setSubject('1')
      .setExpirationTime('5m')
      .sign(key);

  it('verifies RS256 and ES256 signatures locally; the UMS then resolves the principal', async () => {
    // ums-dev signs HS256, so these tokens are unknown to it: a valid signature reaches the UMS (401 from it),
    // an invalid one never does.
    const before = s.ums.stats.requests;
    const rs = await request(s.api.url, '/api/v1/cases/', {
      token: await sign('RS256', rsa.privateKey, 'rsa-1'),
    });
    const es = await request(s.api.url, '/api/v1/cases/', {
      token: await sign('ES256', ec.privateKey, 'ec-1'),
    });
    expect([rs.status, es.status]).toEqual([401, 401]);
    expect(s.ums.stats.requests - before).toBe(2);
  });

  it('HS/RS confusion (an HS256 token keyed with the public key) and foreign keys are refused without a UMS call', async () => {
    const pubJwk = await exportJWK(rsa.publicKey);
    const confused = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setSubject('1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(pubJwk)));
    const other = await generateKeyPair('RS256');
    const foreign = await sign('RS256', other.privateKey, 'rsa-1');
    const before = s.ums.stats.requests;
    for (const t of [confused, foreign]) {
      expect((await request(s.api.url, '/api/v1/cases/', { token: t })).status).toBe(401);
    }
    expect(s.ums.stats.requests).toBe(before);
  });
});
