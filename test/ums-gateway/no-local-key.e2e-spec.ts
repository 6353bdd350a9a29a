import { request, startStack, type Stack } from '@lhcms/testing';
import { SignJWT } from 'jose';

/**
 * Outside production without JWT_SECRET_KEY or UMS_JWKS_URL there is no key
 * for passport-jwt: the strategy decodes and checks the token locally
 * (shape, algorithm, expiry, type) and the UMS decides on the signature.
 */
describe('ums-gateway without a local key (the UMS decides)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ env: { JWT_SECRET_KEY: '' } });
  });
  afterAll(() => s.close());

  const sign = (claims: Record<string, unknown>, exp: number) =>
    new SignJWT({ type: 'access', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('1')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode('not-the-ums-secret-at-all-0123456789'));

  it('a token the UMS accepts is served', async () => {
    expect((await s.as('viewer', '/api/v1/cases/')).status).toBe(200);
  });

  it('expired, refresh and unsigned tokens are 401 without a UMS call; a forged one is the UMS’s 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const before = s.ums.stats.requests;
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: '1', type: 'access', exp: now + 600 })).toString('base64url')}.`;
    for (const t of [
      await sign({}, now - 3600),
      await sign({ type: 'refresh' }, now + 600),
      unsigned,
    ]) {
      const res = await request(s.api.url, '/api/v1/cases/', { token: t });
      expect([res.status, res.body.message]).toEqual([401, 'Invalid or expired token']);
    }
    expect(s.ums.stats.requests).toBe(before);
    const forged = await request(s.api.url, '/api/v1/cases/', { token: await sign({}, now + 600) });
    expect(forged.status).toBe(401);
    expect(s.ums.stats.requests).toBeGreaterThan(before);
  });
});
