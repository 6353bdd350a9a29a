import { loadEnv } from '@lhcms/config';
import { generateKeyPair, SignJWT } from 'jose';
import { TokenRejected, TokenVerifier } from './token-verifier';

const SECRET = 'unit-test-secret-0123456789abcdef';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function hs(claims: Record<string, unknown> = {}, exp = now() + 300, secret = key) {
  return new SignJWT({ type: 'access', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('1')
    .setExpirationTime(exp)
    .sign(secret);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('TokenVerifier with a shared HS256 secret', () => {
  const v = new TokenVerifier(loadEnv({ JWT_SECRET_KEY: SECRET }));

  it('accepts a valid access token and normalises sub', async () => {
    const claims = await v.verify(await hs());
    expect(claims.sub).toBe('1');
    expect(v.verifiesSignatures).toBe(true);
  });

  it.each([
    ['garbage', async () => 'garbage'],
    ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ sub: '1', exp: now() + 60 })}.`],
    [
      'wrong signature',
      async () => hs({}, now() + 300, new TextEncoder().encode('another-secret-0123456789abcdef')),
    ],
    ['expired', async () => hs({}, now() - 60)],
    [
      'not yet valid',
      async () =>
        new SignJWT({ type: 'access' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('1')
          .setNotBefore(now() + 600)
          .setExpirationTime(now() + 900)
          .sign(key),
    ],
    ['refresh token', async () => hs({ type: 'refresh' })],
    [
      'no expiry',
      async () =>
        new SignJWT({ type: 'access' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('1')
          .sign(key),
    ],
    [
      'no subject',
      async () =>
        new SignJWT({ type: 'access' })
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now() + 60)
          .sign(key),
    ],
    [
      'HS512 outside the allowlist',
      async () =>
        new SignJWT({ type: 'access' })
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('1')
          .setExpirationTime(now() + 60)
          .sign(key),
    ],
  ])('rejects %s', async (_name, make) => {
    await expect(v.verify(await make())).rejects.toBeInstanceOf(TokenRejected);
  });

  it('rejects an RS256 token (HS/RS confusion) even if it is well formed', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const rs = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('1')
      .setExpirationTime(now() + 60)
      .sign(privateKey);
    await expect(v.verify(rs)).rejects.toBeInstanceOf(TokenRejected);
  });
});

describe('TokenVerifier remembers verified tokens until they expire', () => {
  afterEach(() => jest.useRealTimers());

  it('a remembered token is rejected once it expires', async () => {
    const v = new TokenVerifier(loadEnv({ JWT_SECRET_KEY: SECRET }));
    const token = await hs({}, now() + 2);
    await expect(v.verify(token)).resolves.toMatchObject({ sub: '1' });
    await expect(v.verify(token)).resolves.toMatchObject({ sub: '1' }); // from memory
    jest.useFakeTimers({ now: Date.now() + 60_000, doNotFake: ['nextTick', 'setImmediate'] });
    await expect(v.verify(token)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('a rejected token is never remembered as valid', async () => {
    const v = new TokenVerifier(loadEnv({ JWT_SECRET_KEY: SECRET }));
    const forged = await hs(
      {},
      now() + 300,
      new TextEncoder().encode('another-secret-0123456789abcdef'),
    );
    await expect(v.verify(forged)).rejects.toBeInstanceOf(TokenRejected);
    await expect(v.verify(forged)).rejects.toBeInstanceOf(TokenRejected);
  });
});

describe('TokenVerifier without a secret (the UMS decides)', () => {
  const v = new TokenVerifier(loadEnv({}));
  it('still checks shape, algorithm, expiry and type locally', async () => {
    expect(v.verifiesSignatures).toBe(false);
    await expect(
      v.verify(await hs({}, now() + 60, new TextEncoder().encode('whatever-secret-0123456789'))),
    ).resolves.toMatchObject({ sub: '1' });
    await expect(v.verify(await hs({}, now() - 60))).rejects.toBeInstanceOf(TokenRejected);
    await expect(v.verify(await hs({ type: 'refresh' }))).rejects.toBeInstanceOf(TokenRejected);
    await expect(
      v.verify(`${b64({ alg: 'none' })}.${b64({ sub: '1', exp: now() + 60 })}.`),
    ).rejects.toBeInstanceOf(TokenRejected);
  });
});
