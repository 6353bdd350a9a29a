import { Logger } from '@nestjs/common';
import pg, { type PoolClient, type PoolConfig } from 'pg';

/** Error codes LHCMS gives its own database-availability failures (mapped to 503 by the API). */
export const DB_NOT_CONNECTED = 'LHCMS_DB_NOT_CONNECTED';
export const DB_POOL_QUEUE_FULL = 'LHCMS_DB_POOL_QUEUE_FULL';

export interface ResilientPoolConfig extends PoolConfig {
  /**
   * Requests that may wait for a connection at once; one more is refused at
   * once (load shedding) instead of queueing behind a slow database. 0: no bound.
   */
  maxWaiting?: number;
}

/** A database-availability failure of LHCMS's own (not a PostgreSQL error). */
export class DatabaseAvailabilityError extends Error {
  constructor(
    readonly code: typeof DB_NOT_CONNECTED | typeof DB_POOL_QUEUE_FULL,
    message: string,
  ) {
    super(message);
    this.name = 'DatabaseAvailabilityError';
  }
}

/** The connection itself is refused, lost or unusable (server down, restarting, unreachable). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  // A statement written to a connection the server or the network already closed (a
  // pipelined read writes its statements before the first answer tells it so).
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  // Too many connections: this server cannot take one more now.
  '53300',
]);
/** node-postgres's and pg-pool's connection failures that carry no code. */
const CONNECTION_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|Query read timeout/i;

const DB_DOWN = new Set([
  // LHCMS's own: not connected yet (starting while the database is down), wait queue full.
  DB_NOT_CONNECTED,
  DB_POOL_QUEUE_FULL,
  ...CONNECTION_CODES,
  // Class 53, insufficient resources: out of memory, disk full (and too many connections,
  // above). The database cannot serve the request now; a retry later can succeed.
  '53000',
  '53100',
  '53200',
  // Transient: the statement ran past DB_STATEMENT_TIMEOUT_MS or was cancelled (57014), a
  // serialization failure or deadlock (40001, 40P01), a lock not available (55P03). The
  // transaction was rolled back; the same request can succeed when retried.
  '57014',
  '40001',
  '40P01',
  '55P03',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  const m = (err as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : '';
}

/**
 * The connection a statement ran on is refused, lost or unusable — as
 * opposed to a statement the database refused. The one definition behind
 * isDatabaseUnavailable and the read-replica router's fallback.
 */
export function isConnectionFault(err: unknown): boolean {
  const code = codeOf(err);
  return (
    (code !== undefined && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(messageOf(err))
  );
}

/**
 * The database cannot serve this now — down, unreachable, restarting, out of
 * resources, too slow, or a transient conflict — and the transaction was
 * rolled back: a retry later can succeed. The one definition the API's error
 * answers (503 `Database unavailable`) and the log levels go by.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && DB_DOWN.has(code)) return true;
  return (
    isConnectionFault(err) ||
    /Driver not Connected|Query runner already released/i.test(messageOf(err))
  );
}

const log = new Logger('Database');
/** At most one warning per this many ms for lost connections (a failover breaks them all at once). */
const LOST_LOG_INTERVAL_MS = 10_000;
let lastLostLog = 0;
let lostSinceLog = 0;

function connectionLost(err: Error & { code?: string }): void {
  lostSinceLog++;
  const now = Date.now();
  if (now - lastLostLog < LOST_LOG_INTERVAL_MS) return;
  log.warn(
    { code: err.code, lost: lostSinceLog },
    'database connection lost; the pool replaces it (requests using it failed with 503)',
  );
  lastLostLog = now;
  lostSinceLog = 0;
}

/**
 * node-postgres's Pool with what a service that must never exit needs:
 *
 * - every client has an 'error' listener for its whole life. pg-pool listens
 *   only while a client is idle; a connection that breaks while a request
 *   holds it (server restart, failover, `pg_terminate_backend`, a network
 *   cut) emitted an unhandled 'error' and ended the process. Now the query in
 *   flight fails (the request answers 503, its transaction is rolled back by
 *   the server) and the broken client is discarded on release;
 * - the pool's own 'error' (an idle client breaking) is logged, not thrown;
 * - a bounded wait queue (`maxWaiting`): when it is full, `connect()` fails
 *   at once instead of queueing behind a slow database.
 *
 * The waiting time itself is bounded by `connectionTimeoutMillis`
 * (DB_POOL_TIMEOUT).
 */
export class ResilientPool extends pg.Pool {
  private readonly maxWaiting: number;

  constructor(config: ResilientPoolConfig = {}) {
    const { maxWaiting = 0, ...rest } = config;
    super(rest);
    this.maxWaiting = maxWaiting;
    this.on('error', connectionLost);
    this.on('connect', (client: PoolClient) => client.on('error', connectionLost));
  }

  override connect(): Promise<PoolClient>;
  override connect(
    callback: (err: Error | undefined, client: PoolClient | undefined, done: () => void) => void,
  ): void;
  override connect(
    callback?: (err: Error | undefined, client: PoolClient | undefined, done: () => void) => void,
  ): Promise<PoolClient> | void {
    if (this.maxWaiting > 0 && this.waitingCount >= this.maxWaiting) {
      const err = new DatabaseAvailabilityError(
        DB_POOL_QUEUE_FULL,
        'too many requests waiting for a database connection',
      );
      if (callback) {
        process.nextTick(() => callback(err, undefined, () => undefined));
        return;
      }
      return Promise.reject(err);
    }
    // pg-pool's connect takes an optional callback; the typings split it into overloads.
    return callback ? (super.connect as (cb: typeof callback) => void)(callback) : super.connect();
  }
}

/**
 * The `pg` module as TypeORM's postgres driver loads it (its `driver`
 * option), with ResilientPool as its Pool: the DataSource's pools get the
 * same guarantees as the pools LHCMS makes itself.
 */
export const resilientPg: typeof pg = Object.create(pg, {
  Pool: { value: ResilientPool, enumerable: true },
}) as typeof pg;
