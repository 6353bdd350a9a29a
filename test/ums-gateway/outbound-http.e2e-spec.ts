import { HttpService } from '@nestjs/axios';
import { loadEnv } from '@lhcms/config';
import axios from 'axios';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { outboundHttpConfig } from '../../apps/api/src/common/http/outbound';
import { type UmsCallObserver, UmsClient } from '../../apps/api/src/ums-gateway/ums-client';
import { UmsUnauthorized, UmsUnavailable } from '../../apps/api/src/ums-gateway/ums-gateway.errors';

/** The UMS client on @nestjs/axios: what the outbound defaults promise (common/http/outbound.ts). */
interface Recorder {
  server: Server;
  url: string;
  hits: string[];
}

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Recorder> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const close = (r: Recorder) =>
  new Promise((done) => {
    r.server.closeAllConnections();
    r.server.close(done);
  });

function client(env: Record<string, string>) {
  const e = loadEnv(env);
  const calls: string[] = [];
  const observer: UmsCallObserver = {
    umsCall: (op, outcome) => calls.push(`${op}:${outcome}`),
    setUmsCircuitOpen: () => undefined,
  };
  // axios resolves to its CommonJS build here and to its ESM build in @nestjs/axios: one API, two type identities.
  const http = new HttpService(axios.create(outboundHttpConfig(e.UMS_TIMEOUT_MS)) as never);
  return { ums: new UmsClient(e, observer, http), calls };
}

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2VjcmV0LXNpZ25hdHVyZQ';

describe('UMS client over @nestjs/axios', () => {
  let elsewhere: Recorder;
  let proxy: Recorder;
  beforeAll(async () => {
    elsewhere = await serve((_req, res) => res.end('{"user":{"id":1}}'));
    proxy = await serve((_req, res) => res.end('{"user":{"id":1}}'));
  });
  afterAll(async () => {
    await close(elsewhere);
    await close(proxy);
  });

  it('does not follow a redirect: the bearer token never reaches another address', async () => {
    const ums = await serve((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/api/auth/me` });
      res.end();
    });
    try {
      const { ums: c, calls } = client({ UMS_BASE_URL: ums.url, UMS_RETRIES: '0' });
      await expect(c.me(TOKEN)).rejects.toBeInstanceOf(UmsUnauthorized);
      expect(ums.hits).toHaveLength(1);
      expect(elsewhere.hits).toEqual([]);
      expect(calls).toEqual(['me:unauthorized']);
    } finally {
      await close(ums);
    }
  });

  it('ignores HTTP_PROXY from the environment', async () => {
    const ums = await serve((_req, res) => res.end('{"user":{"id":1}}'));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
    process.env.HTTP_PROXY = proxy.url;
    process.env.http_proxy = proxy.url;
    try {
      const { ums: c } = client({ UMS_BASE_URL: ums.url });
      await expect(c.me(TOKEN)).resolves.toEqual({ user: { id: 1 } });
      expect(proxy.hits).toEqual([]);
      expect(ums.hits).toEqual([`GET /api/auth/me Bearer ${TOKEN}`]);
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      await close(ums);
    }
  });

  it('retries 5xx and timeouts UMS_RETRIES times; the error names neither URL nor token', async () => {
    const ums = await serve((req, res) => {
      if (req.url?.startsWith('/api/labs')) return; // never answers
      res.writeHead(503);
      res.end();
    });
    try {
      const { ums: c, calls } = client({
        UMS_BASE_URL: ums.url,
        UMS_RETRIES: '2',
        UMS_TIMEOUT_MS: '200',
        UMS_BREAKER_THRESHOLD: '100',
      });
      const failed = await c.me(TOKEN).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(UmsUnavailable);
      expect(ums.hits).toHaveLength(3);
      const slow = await c.labs(TOKEN).catch((e: unknown) => e);
      expect(slow).toMatchObject({ outcome: 'timeout' });
      expect(calls).toEqual(['me:error', 'labs:timeout']);
      for (const e of [failed, slow]) {
        const text = JSON.stringify(e, Object.getOwnPropertyNames(e));
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain('127.0.0.1');
      }
    } finally {
      await close(ums);
    }
  });
});
