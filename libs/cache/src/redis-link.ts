import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Env } from '@lhcms/config';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createCluster,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from '@redis/client';

/** While Redis is down, a PING goes out this often; recovery is noticed within about this long. */
export const REDIS_PROBE_INTERVAL_MS = 500;
/** Longest wait between two reconnection attempts of the client. */
const RECONNECT_MAX_MS = 1000;
/** Failed probes on a connection that claims to be open (a black hole) before it is replaced. */
const DEAD_PROBES = 3;
/**
 * The same for a cluster client (≈ 5 s): discovering the layout and opening one
 * connection per master takes longer than one connection, and a busy process
 * must not keep replacing a cluster client that is still connecting.
 */
const DEAD_PROBES_CLUSTER = 10;
/** Longest wait for Redis at boot: the process starts (degraded) without it. */
const BOOT_WAIT_MS = 1000;
/** Longest wait for in-flight commands when closing at shutdown. */
const CLOSE_WAIT_MS = 1000;
/** Commands in flight at most: a bound on what a silent connection can hold. */
const QUEUE_MAX = 1000;

/** Options every connection of the link shares: to the one server, or to each cluster node. */
function connectionOptions(timeoutMs: number) {
  return {
    disableOfflineQueue: true,
    commandsQueueMaxLength: QUEUE_MAX,
    socket: {
      connectTimeout: Math.max(1000, timeoutMs),
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** Math.min(retries, 5), RECONNECT_MAX_MS) + Math.floor(Math.random() * 50),
    },
  };
}

/** The link's client: no offline queue, a bounded queue, a timeout on every command, quick reconnects. */
function createLinkClient(url: string | undefined, timeoutMs: number) {
  return createClient({
    url,
    ...connectionOptions(timeoutMs),
    // Every command carries a timeout too (a backstop of RedisLink.run's), so a
    // silent server cannot pile commands up.
    commandOptions: { timeout: 2 * timeoutMs },
  });
}

/** `host:port` (a bracketed IPv6 address allowed) as socket options. */
function nodeSocket(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return {
    host: address.slice(0, at).replace(/^\[|\]$/g, ''),
    port: Number(address.slice(at + 1)),
  };
}

/**
 * The link's cluster client (REDIS_MODE=cluster): REDIS_URL's node and
 * REDIS_CLUSTER_NODES are the seeds the layout is discovered from; REDIS_URL's
 * user, password and TLS apply to every node; each node's connection has the
 * options of the standalone client (no offline queue, bounded queue, quick
 * reconnects) and every command the same timeout.
 */
function createLinkCluster(url: string, seeds: readonly string[], timeoutMs: number) {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'rediss:';
  const base = connectionOptions(timeoutMs);
  const first = nodeSocket(`${parsed.hostname}:${parsed.port || '6379'}`);
  return createCluster({
    rootNodes: [first, ...seeds.map(nodeSocket)].map((socket) => ({ socket })),
    defaults: {
      ...base,
      username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      socket: tls ? { ...base.socket, tls: true as const } : base.socket,
    },
    commandOptions: { timeout: 2 * timeoutMs },
  });
}

export type RedisStandaloneClient = ReturnType<typeof createLinkClient>;
export type RedisClusterClient = ReturnType<typeof createLinkCluster>;
/** The link's connection: one server's client, or a cluster client (REDIS_MODE=cluster). */
export type RedisClient = RedisStandaloneClient | RedisClusterClient;

/** Whether `client` is a cluster client. */
export function isCluster(client: RedisClient): client is RedisClusterClient {
  return 'masters' in client;
}

/**
 * Ready for commands: the server's connection, or every master's (a cluster
 * with one master unreachable is not: a third of the keys would fail).
 */
function isReady(client: RedisClient): boolean {
  if (!isCluster(client)) return client.isReady;
  return (
    client.isOpen &&
    client.masters.length > 0 &&
    client.masters.every((m) => m.client !== undefined && m.client.isReady)
  );
}

/** The cluster says it cannot serve every slot (a master is down and no replica took over). */
class ClusterNotServing extends Error {}

/** Replies meaning a cluster cannot serve the key now: an outage, not a wrong command. */
const CLUSTER_OUTAGE_REPLY = /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN)\b/;

/**
 * Redis answers: PING on the one server; on a cluster, CLUSTER INFO on every
 * master, each reporting `cluster_state:ok` (so a master that is back but not
 * yet accepted by the others does not count as recovered).
 */
export async function pingRedis(client: RedisClient): Promise<void> {
  if (!isCluster(client)) {
    await client.ping();
    return;
  }
  if (client.masters.length === 0) throw new ClusterNotServing('no masters known');
  await Promise.all(
    client.masters.map(async (master) => {
      const node = await client.nodeClient(master);
      const info = String(await node.clusterInfo());
      if (!/^cluster_state:ok\s*$/m.test(info)) throw new ClusterNotServing('cluster state not ok');
    }),
  );
}

/** Redis was not used for this call: it is down, too slow, or known to be down. Callers fall back. */
export class RedisUnavailableError extends Error {
  /** The dependency, for whoever maps errors to answers. */
  readonly dependency = 'redis';

  constructor(readonly reason: string) {
    super(`Redis unavailable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

class RedisCallTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** Errors of the client itself (not replies of the server): Redis cannot be used now. */
const CLIENT_FAULTS = [
  ClientClosedError,
  ClusterNotServing,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
] as const;

/** An error of node-redis's client or of RedisLink: a Redis fault (never a database one). */
export function isRedisFault(err: unknown): boolean {
  return (
    err instanceof RedisUnavailableError ||
    err instanceof RedisCallTimeout ||
    CLIENT_FAULTS.some((c) => err instanceof c)
  );
}

/** What went wrong, by category only: never a URL, host or credential (they are in some messages). */
export function redisFailureCategory(err: unknown): string {
  if (err instanceof RedisUnavailableError) return err.reason;
  if (err instanceof ClusterNotServing) return 'cluster not serving every slot';
  if (err instanceof RootNodesUnavailableError) return 'no cluster node reachable';
  if (
    err instanceof RedisCallTimeout ||
    err instanceof TimeoutError ||
    err instanceof ConnectionTimeoutError ||
    err instanceof SocketTimeoutError
  )
    return 'timeout';
  if (err instanceof SocketClosedUnexpectedlyError) return 'connection closed';
  // A refusal by the server (WRONGPASS, NOAUTH, LOADING, READONLY, ...): its code only.
  if (err instanceof ErrorReply) {
    const code = /^[A-Z]{2,20}\b/.exec(err.message)?.[0];
    return code ? `server replied ${code}` : 'server error reply';
  }
  if (
    err instanceof ClientOfflineError ||
    err instanceof ClientClosedError ||
    err instanceof DisconnectsClientError
  )
    return 'not connected';
  const cause = (err as { cause?: unknown })?.cause;
  const code = (err as { code?: unknown })?.code ?? (cause as { code?: unknown })?.code;
  return socketErrorCategory(code) ?? 'error';
}

/**
 * A socket error code in a few words safe for a public body (`connection
 * refused`, `timeout`): the one wording of the health details, for every
 * dependency. Undefined for any other code.
 */
export function socketErrorCategory(code: unknown): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return undefined;
  }
}

/**
 * `p`, or a RedisCallTimeout after `ms`. The timeout is decided after one
 * more I/O phase (setImmediate): when the event loop was busy and the reply
 * is already waiting in the socket, the reply wins — a stalled process is not
 * a slow Redis.
 */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => setImmediate(() => reject(new RedisCallTimeout(ms))), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The process's one Redis connection (node-redis), shared by the cache and
 * the rate limiter, behind a circuit:
 *
 * - every call is bounded by REDIS_TIMEOUT_MS; a call that fails or times out
 *   marks Redis down (one warning per outage, not per request);
 * - while Redis is down, calls fail at once with RedisUnavailableError —
 *   callers fall back (memory cache, per-process rate limit) and a request
 *   pays nothing for Redis;
 * - a PING every REDIS_PROBE_INTERVAL_MS notices the recovery (an info line),
 *   and a connection that stays silent (black-holed) is replaced;
 * - no offline queue: a command while disconnected fails instead of waiting,
 *   and every 'error' event is handled (an unhandled one would end the process).
 *
 * A Redis error reply (the server answered, e.g. WRONGTYPE) does not count
 * as an outage, except a cluster's CLUSTERDOWN, TRYAGAIN and MASTERDOWN.
 * Without REDIS_URL nothing connects and every call is refused.
 *
 * With REDIS_MODE=cluster the connection is a cluster client (one connection
 * per master, each key sent to its slot's master) and the circuit covers the
 * whole cluster: it is up while every master answers and reports
 * `cluster_state:ok`, and one master down takes it down (callers fall back
 * as for a standalone outage) until the cluster serves every slot again.
 * Each LHCMS command touches one key, so no hash tags are needed.
 */
@Injectable()
export class RedisLink implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly listeners = new Set<(up: boolean) => void>();
  private client?: RedisClient;
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private reason = 'not connected';
  private downSince = 0;
  private probeTimer?: NodeJS.Timeout;
  private probing = false;
  private failedProbes = 0;
  private stopped = false;
  readonly timeoutMs: number;

  constructor(private readonly env: Env) {
    this.timeoutMs = env.REDIS_TIMEOUT_MS;
    // Created here, connected in onModuleInit: the cache store wraps it at construction.
    if (this.configured) this.client = this.newClient();
  }

  get configured(): boolean {
    return this.env.REDIS_URL !== undefined;
  }

  /** Redis may be used now (connected and not known to be down). */
  get available(): boolean {
    return this.state === 'up' && this.client !== undefined && isReady(this.client);
  }

  /** `cluster` with REDIS_MODE=cluster (one connection per master), else `standalone`. */
  get mode(): 'standalone' | 'cluster' {
    return this.env.REDIS_MODE;
  }

  /** Up, or down with the category of the failure that took it down. */
  get status(): { up: boolean; reason?: string } {
    return this.state === 'up' ? { up: true } : { up: false, reason: this.reason };
  }

  /** The current connection (it is replaced when it goes silent); undefined without REDIS_URL. */
  get connection(): RedisClient | undefined {
    return this.client;
  }

  /** Calls `fn` on every change between up and down; returns the unsubscribe. */
  onStateChange(fn: (up: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    this.connect();
    // A short, bounded wait so that the first requests find Redis; boot never fails on it.
    const deadline = Date.now() + BOOT_WAIT_MS;
    // (The 'ready' event runs the first PING.)
    while (this.state !== 'up' && Date.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (this.state !== 'up') this.markDown(this.reason);
  }

  /**
   * Runs `fn` on the client within REDIS_TIMEOUT_MS. Rejects with
   * RedisUnavailableError at once while Redis is down, and when the call
   * fails or is too slow (Redis is then marked down). A Redis error reply is
   * rethrown as is.
   */
  async run<T>(fn: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.available) throw new RedisUnavailableError(this.reason);
    try {
      return await withTimeout(fn(this.client!), this.timeoutMs);
    } catch (err) {
      // A cluster that cannot serve the slot (CLUSTERDOWN, ...) is an outage; other replies are not.
      if (err instanceof ErrorReply && !CLUSTER_OUTAGE_REPLY.test(err.message)) throw err;
      const reason = redisFailureCategory(err);
      this.markDown(reason);
      throw new RedisUnavailableError(reason);
    }
  }

  /**
   * Redis answers within REDIS_TIMEOUT_MS: a PING, or on a cluster every
   * master reporting `cluster_state:ok` (what readiness shows). Rejects like run().
   */
  ping(): Promise<void> {
    return this.run((client) => pingRedis(client));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.stopProbing();
    const client = this.client;
    if (!client) return;
    try {
      await withTimeout(client.close(), CLOSE_WAIT_MS);
    } catch {
      this.destroy(client);
    }
  }

  private newClient(): RedisClient {
    const { env } = this;
    const client: RedisClient =
      env.REDIS_MODE === 'cluster'
        ? createLinkCluster(env.REDIS_URL!, env.REDIS_CLUSTER_NODES, this.timeoutMs)
        : createLinkClient(env.REDIS_URL, this.timeoutMs);
    const onError = (err: unknown) => {
      // Every reconnection attempt emits one: the outage is logged once, by markDown.
      if (client !== this.client) return; // a replaced connection
      if (this.state === 'up') this.markDown(redisFailureCategory(err));
      else this.reason = redisFailureCategory(err);
    };
    const onReady = () => {
      if (client === this.client && this.state !== 'up') void this.probe();
    };
    client.on('error', onError);
    if (isCluster(client)) {
      // A cluster reports each node's faults as 'node-error', and 'connect' once the layout is known.
      client.on('node-error', onError);
      client.on('connect', onReady);
      client.on('node-ready', onReady);
    } else {
      client.on('ready', onReady);
    }
    return client;
  }

  /** Starts connecting (node-redis then reconnects by itself); the outcome arrives through events. */
  private connect(): void {
    const client = this.client;
    if (!client || client.isOpen || this.stopped) return;
    client.connect().catch((err: unknown) => {
      // (A replaced connection's late failure says nothing about the current one.)
      if (client === this.client) this.reason = redisFailureCategory(err);
    });
  }

  private destroy(client: RedisClient): void {
    try {
      client.destroy();
    } catch {
      /* not open */
    }
  }

  /** One PING within the timeout: up on PONG; a silent open connection is replaced after a few tries. */
  private async probe(): Promise<void> {
    const client = this.client;
    if (!client || this.probing || this.stopped) return;
    this.probing = true;
    try {
      // A cluster client that could not discover the layout is closed: it is asked again here.
      if (!client.isOpen) this.connect();
      if (isReady(client)) {
        await withTimeout(pingRedis(client), this.timeoutMs);
        this.failedProbes = 0;
        this.markUp();
        return;
      }
      this.failedProbes++;
    } catch (err) {
      this.reason = redisFailureCategory(err);
      this.failedProbes++;
    } finally {
      this.probing = false;
    }
    const dead = isCluster(client) ? DEAD_PROBES_CLUSTER : DEAD_PROBES;
    if (this.failedProbes >= dead && !this.stopped && client === this.client) {
      // Silent (black-holed) or stuck connecting: a fresh connection, not one more wait.
      this.failedProbes = 0;
      this.client = this.newClient();
      this.destroy(client);
      this.connect();
    }
  }

  private markDown(reason: string): void {
    this.reason = reason;
    if (this.state === 'down' || this.stopped) return;
    this.state = 'down';
    this.downSince = Date.now();
    this.logger.warn(
      `Redis unavailable (${reason}): the cache falls back to process memory and the UMS, ` +
        'rate limits are counted per process, until Redis answers again',
    );
    this.emit(false);
    this.startProbing();
  }

  private markUp(): void {
    if (this.state === 'up') return;
    const was = this.state;
    this.state = 'up';
    this.reason = '';
    this.stopProbing();
    if (was === 'down') {
      const seconds = ((Date.now() - this.downSince) / 1000).toFixed(1);
      this.logger.log(`Redis is available again after ${seconds} s`);
    }
    this.emit(true);
  }

  private startProbing(): void {
    if (this.probeTimer || this.stopped || !this.client) return;
    this.probeTimer = setInterval(() => void this.probe(), REDIS_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private emit(up: boolean): void {
    for (const fn of this.listeners) {
      try {
        fn(up);
      } catch {
        /* an observer must not break the link */
      }
    }
  }
}
