import { loadEnv } from '@lhcms/config';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type GenerateKeyPairResult,
  type JWK,
  SignJWT,
} from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenRejected, TokenVerifier } from '../../apps/api/src/ums-gateway/token-verifier';

/**
 * Key-selection attacks on the JWKS path of the passport-jwt strategy
 * (TokenVerifier runs the same passport-jwt pipeline): only keys of the
 * configured JWKS ever verify, whatever the token's header says; a new key
 * published by the UMS is picked up (rotation).
 */
type KeyPair = GenerateKeyPairResult;

async function jwksServer(
  keys: () => JWK[],
): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return { server, url, hits: () => hits };
}

const close = (s: Server) => new Promise((r) => s.close(r));
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JWKS key selection cannot be steered by the token', () => {
  let rsa: KeyPair;
  let ec: KeyPair;
  let attacker: KeyPair;
  let published: JWK[];
  let ums: Awaited<ReturnType<typeof jwksServer>>;
  let evil: Awaited<ReturnType<typeof jwksServer>>;
  let v: TokenVerifier;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    attacker = await generateKeyPair('RS256', { extractable: true });
    published = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'rsa-1', alg: 'RS256' };
    ums = await jwksServer(() => published);
    evil = await jwksServer(() => [attackerJwk]);
    v = new TokenVerifier(
      loadEnv({ UMS_JWKS_URL: ums.url, JWT_ALGORITHM: 'RS256,ES256', JWT_SECRET_KEY: '' }),
    );
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await close(ums.server);
    await close(evil.server);
  });

  const sign = (key: KeyPair['privateKey'], header: Record<string, unknown>, sub = '1') =>
    new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'RS256', ...header })
      .setSubject(sub)
      .setExpirationTime('5m')
      .sign(key);

  it('accepts the UMS keys, RS256 and ES256', async () => {
    await expect(v.verify(await sign(rsa.privateKey, { kid: 'rsa-1' }))).resolves.toMatchObject({
      sub: '1',
    });
    await expect(
      v.verify(await sign(ec.privateKey, { alg: 'ES256', kid: 'ec-1' })),
    ).resolves.toMatchObject({ sub: '1' });
  });

  it.each([
    ['an embedded jwk header', async () => ({ jwk: await exportJWK(attacker.publicKey) })],
    ['a jku header naming another JWKS', async () => ({ jku: evil.url, kid: 'rsa-1' })],
    ['an x5u header', async () => ({ x5u: evil.url, kid: 'rsa-1' })],
    ['an unknown kid', async () => ({ kid: 'attacker-1' })],
    ['a path in the kid', async () => ({ kid: '../../../../dev/null' })],
    ['the kid of a UMS key', async () => ({ kid: 'rsa-1' })],
  ])('refuses a token signed with a foreign key and %s', async (_name, header) => {
    const token = await sign(attacker.privateKey, await header());
    await expect(v.verify(token)).rejects.toBeInstanceOf(TokenRejected);
    expect(evil.hits()).toBe(0);
  });

  it('refuses an RS kid with an ES alg, alg none, and HS256 keyed with the public key', async () => {
    const mixed = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'ES256', kid: 'rsa-1' })
      .setSubject('1')
      .setExpirationTime('5m')
      .sign(ec.privateKey);
    const none = `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ sub: '1', type: 'access', exp: 9999999999 })}.`;
    const pem = await exportSPKI(rsa.publicKey);
    const confused = await new SignJWT({ type: 'access' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setSubject('1')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(pem));
    for (const t of [mixed, none, confused])
      await expect(v.verify(t)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('picks up a key the UMS publishes later (rotation), once the refetch cooldown has passed', async () => {
    const next = await generateKeyPair('RS256', { extractable: true });
    published = [
      ...published,
      { ...(await exportJWK(next.publicKey)), kid: 'rsa-2', alg: 'RS256', use: 'sig' },
    ];
    const rotated = await sign(next.privateKey, { kid: 'rsa-2' }, '7');
    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 60_000);
    const before = ums.hits();
    await expect(v.verify(rotated)).resolves.toMatchObject({ sub: '7' });
    expect(ums.hits()).toBe(before + 1);
  });
});
