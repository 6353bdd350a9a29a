import { request, startTestUms, TEST_JWT_SECRET } from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

describe('ums-dev over HTTP (shape A+B)', () => {
  let ums: UmsDevServer;
  beforeAll(async () => {
    ums = await startTestUms();
  });
  afterAll(() => ums.close());

  const login = (username: string, password: string) =>
    request(ums.url, '/api/auth/login', { method: 'POST', body: { username, password } });

  it('serves /health', async () => {
    const res = await request(ums.url, '/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('healthy');
  });

  it('admin/admin123 logs in; the access token is accepted by its own /api/auth/me', async () => {
    const res = await login('admin', 'admin123');
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Login successful');
    expect(res.body.user).toMatchObject({ id: 1, username: 'admin' });
    expect(res.body.user.labs).toEqual([
      {
        lab_id: 1,
        lab_name: 'Test Lab',
        lab_code: 'TL',
        role: 'admin',
        membership_status: 'active',
      },
    ]);
    const me = await request(ums.url, '/api/auth/me', { token: res.body.access_token });
    expect(me.status).toBe(200);
    // Shape A (top-level user with labs[]) and shape B (`user` key) at once.
    expect(me.body.username).toBe('admin');
    expect(me.body.labs[0].lab_id).toBe(1);
    expect(me.body.user.id).toBe(1);
    expect(me.body.user.labs).toEqual(me.body.labs);
    // No leaked secrets of the original LHUMS user object.
    expect(me.body).not.toHaveProperty('password_history');
    expect(me.body).not.toHaveProperty('two_factor_secret');
  });

  it('signs HS256 tokens with a string sub, type, jti and 1 h / refresh lifetimes', async () => {
    const res = await login('tech', 'tech123');
    const { access_token, refresh_token } = res.body;
    expect(decodeProtectedHeader(access_token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(access_token, new TextEncoder().encode(TEST_JWT_SECRET));
    expect(payload.sub).toBe('2');
    expect(payload.type).toBe('access');
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(decodeJwt(refresh_token).type).toBe('refresh');
  });

  it('refresh: a refresh token yields a new access token that /me accepts', async () => {
    const { refresh_token, access_token } = (await login('viewer', 'viewer123')).body;
    const r = await request(ums.url, '/api/auth/refresh', { method: 'POST', token: refresh_token });
    expect(r.status).toBe(200);
    expect(decodeJwt(r.body.access_token).type).toBe('access');
    const me = await request(ums.url, '/api/auth/me', { token: r.body.access_token });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('viewer');
    // An access token is not a refresh token, and vice versa.
    expect(
      (await request(ums.url, '/api/auth/refresh', { method: 'POST', token: access_token })).status,
    ).toBe(422);
    expect((await request(ums.url, '/api/auth/me', { token: refresh_token })).status).toBe(422);
  });

  it('rejects bad logins the way LHUMS does', async () => {
    expect((await login('admin', 'wrong')).status).toBe(401);
    expect((await login('nobody', 'x')).body).toEqual({ error: 'Invalid username or password' });
    expect((await login('inactive', 'inactive123')).status).toBe(403);
    const missing = await request(ums.url, '/api/auth/login', {
      method: 'POST',
      body: { username: 'admin' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errors.password).toEqual(['Missing data for required field.']);
  });

  it('rejects missing, garbage and foreign-signed tokens on /me', async () => {
    expect((await request(ums.url, '/api/auth/me')).status).toBe(401);
    expect((await request(ums.url, '/api/auth/me', { token: 'garbage' })).status).toBe(422);
    const other = await startTestUms({ secret: 'another-secret-0123456789abcdef' });
    try {
      const foreign = (
        await request(other.url, '/api/auth/login', {
          method: 'POST',
          body: { username: 'admin', password: 'admin123' },
        })
      ).body.access_token;
      expect((await request(ums.url, '/api/auth/me', { token: foreign })).status).toBe(422);
    } finally {
      await other.close();
    }
  });

  it('lists the labs of active memberships, and one lab to members only', async () => {
    const multi = (await login('multi', 'multi123')).body.access_token;
    const labs = await request(ums.url, '/api/labs', { token: multi });
    expect(labs.status).toBe(200);
    expect(labs.body.labs.map((l: { id: number }) => l.id).sort()).toEqual([1, 2]);
    expect((await request(ums.url, '/api/labs/2', { token: multi })).body.lab).toMatchObject({
      id: 2,
      code: 'SL',
    });
    const admin = (await login('admin', 'admin123')).body.access_token;
    expect((await request(ums.url, '/api/labs/2', { token: admin })).status).toBe(403);
    expect((await request(ums.url, '/api/labs/99', { token: admin })).status).toBe(404);
    const sys = (await login('sysadmin', 'sysadmin123')).body.access_token;
    expect((await request(ums.url, '/api/labs', { token: sys })).body.labs).toHaveLength(2);
  });

  it("sends platform roles as the user's `roles`, only for users that have some", async () => {
    const c = (await login('compliance', 'compliance123')).body;
    expect(c.user.roles).toEqual(['compliance']);
    const me = await request(ums.url, '/api/auth/me', { token: c.access_token });
    expect(me.body.roles).toEqual(['compliance']);
    expect(me.body.labs).toEqual([]);
    const admin = await request(ums.url, '/api/auth/me', {
      token: (await login('admin', 'admin123')).body.access_token,
    });
    expect(admin.body).not.toHaveProperty('roles');
  });
});

describe('ums-dev shape B (the published LHUMS)', () => {
  let ums: UmsDevServer;
  beforeAll(async () => {
    ums = await startTestUms({ shape: 'B' });
  });
  afterAll(() => ums.close());

  it('wraps /me in {"user"} without labs and has no /health', async () => {
    const token = (
      await request(ums.url, '/api/auth/login', {
        method: 'POST',
        body: { username: 'admin', password: 'admin123' },
      })
    ).body.access_token;
    const me = await request(ums.url, '/api/auth/me', { token });
    expect(me.status).toBe(200);
    expect(Object.keys(me.body)).toEqual(['user']);
    expect(me.body.user).not.toHaveProperty('labs');
    expect((await request(ums.url, '/health')).status).toBe(404);
    expect((await request(ums.url, '/api/labs', { token })).body.labs[0]).toMatchObject({
      id: 1,
      name: 'Test Lab',
      code: 'TL',
    });
  });
});

describe('ums-dev with an API key', () => {
  it('requires X-API-Key on the service calls when configured, not on user login', async () => {
    const ums = await startTestUms({ apiKey: 'k-123' });
    try {
      expect((await request(ums.url, '/health')).status).toBe(401);
      expect(
        (await request(ums.url, '/health', { headers: { 'x-api-key': 'k-123' } })).status,
      ).toBe(200);
      const login = await request(ums.url, '/api/auth/login', {
        method: 'POST',
        body: { username: 'admin', password: 'admin123' },
      });
      expect(login.status).toBe(200);
      expect(
        (await request(ums.url, '/api/auth/me', { token: login.body.access_token })).status,
      ).toBe(401);
      const me = await request(ums.url, '/api/auth/me', {
        token: login.body.access_token,
        headers: { 'x-api-key': 'k-123' },
      });
      expect(me.status).toBe(200);
    } finally {
      await ums.close();
    }
  });
});
