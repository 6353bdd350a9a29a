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
