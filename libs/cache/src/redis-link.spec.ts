import * as net from 'node:net';
import { createClient, ErrorReply } from '@redis/client';
import { loadEnv } from '@lhcms/config';
import { isRedisFault, RedisLink, redisFailureCategory, RedisUnavailableError } from './redis-link';

/** A real connection error: connect to a port nothing listens on. */
async function refusedError(): Promise<Error> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return new Promise((resolve) => {
    net.connect(port, '127.0.0.1').on('error', resolve);
  });
}

describe('Redis fault classification', () => {
  it("node-redis's own errors and RedisUnavailableError are Redis faults, with a category", async () => {
    const client = createClient({ url: 'redis://127.0.0.1:1/0' });
    const closed = await client.get('x').catch((e: unknown) => e);
    expect(isRedisFault(closed)).toBe(true);
    expect(redisFailureCategory(closed)).toBe('not connected');

    const unavailable = new RedisUnavailableError('timeout');
    expect(isRedisFault(unavailable)).toBe(true);
    expect(unavailable.message).toBe('Redis unavailable: timeout');
  });

  it('a bare socket error is not attributed to Redis, but its category is named without the address', async () => {
    const refused = await refusedError();
    expect(isRedisFault(refused)).toBe(false);
    expect(redisFailureCategory(refused)).toBe('connection refused');
    expect(redisFailureCategory(new Error('boom'))).toBe('error');
  });
});

describe('a refusal by the server', () => {
  it('is named by its code only (never the rest of the reply)', () => {
    expect(redisFailureCategory(new ErrorReply('WRONGPASS invalid username-password pair'))).toBe(
      'server replied WRONGPASS',
    );
    expect(redisFailureCategory(new ErrorReply('oops'))).toBe('server error reply');
  });
});

/** A port nothing listens on (a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('RedisLink in cluster mode with no node reachable', () => {
  it('boots degraded within its bounded wait, refuses calls at once, and keeps asking', async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const env = loadEnv({
      REDIS_MODE: 'cluster',
      REDIS_URL: `redis://:s3cret@127.0.0.1:${a}`,
      REDIS_CLUSTER_NODES: `127.0.0.1:${b}`,
      REDIS_TIMEOUT_MS: '50',
    });
    const link = new RedisLink(env);
    try {
      const started = Date.now();
      await link.onModuleInit();
      expect(Date.now() - started).toBeLessThan(3000);
      expect(link.mode).toBe('cluster');
      expect(link.available).toBe(false);
      const status = link.status;
      expect(status.up).toBe(false);
      expect(status.reason).toMatch(
        /^(no cluster node reachable|connection refused|not connected)$/,
      );
      const before = Date.now();
      const err = await link.ping().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisUnavailableError);
      expect(Date.now() - before).toBeLessThan(50);
      expect(String((err as Error).message)).not.toMatch(/s3cret|127\.0\.0\.1/);
    } finally {
      await link.onApplicationShutdown();
    }
  });
});

/**
 * A tiny RESP server: PONG to PING, OK to the client's handshake (CLIENT
 * SETINFO, SELECT), and `reply` (a raw RESP line) to everything else.
 */
async function fakeRedis(reply: () => string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString();
      // Each command is an array of bulk strings: answer once per complete `*N` array.
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buffered);
        if (!m) return;
        const parts: string[] = [];
        let rest = buffered.slice(m[0].length);
        for (let i = 0; i < Number(m[1]); i++) {
          const b = /^\$(\d+)\r\n/.exec(rest);
          if (!b || rest.length < b[0].length + Number(b[1]) + 2) return;
          parts.push(rest.slice(b[0].length, b[0].length + Number(b[1])));
          rest = rest.slice(b[0].length + Number(b[1]) + 2);
        }
        buffered = rest;
        const name = parts[0]?.toUpperCase();
        socket.write(
          name === 'PING'
            ? '+PONG\r\n'
            : name === 'CLIENT' || name === 'SELECT'
              ? '+OK\r\n'
              : reply(),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe("RedisLink and a cluster's refusals", () => {
  it('CLUSTERDOWN takes the link down (callers fall back); an ordinary error reply does not', async () => {
    let reply = '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n';
    const server = await fakeRedis(() => reply);
    const link = new RedisLink(loadEnv({ REDIS_URL: `redis://127.0.0.1:${server.port}` }));
    try {
      await link.onModuleInit();
      expect(link.status).toEqual({ up: true });
      const wrongType = await link.run((c) => c.get('k')).catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(ErrorReply);
      expect(link.status).toEqual({ up: true });

      reply = '-CLUSTERDOWN The cluster is down\r\n';
      const down = await link.run((c) => c.get('k')).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(RedisUnavailableError);
      expect(link.status).toEqual({ up: false, reason: 'server replied CLUSTERDOWN' });
      expect(link.available).toBe(false);
    } finally {
      await link.onApplicationShutdown();
      await server.close();
    }
  });
});
