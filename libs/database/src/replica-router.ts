import { Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Env } from '@lhcms/config';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { replicaPoolConfig } from './data-source-options';
import { DatabaseConnector } from './database-connector';
import {
  DB_NOT_CONNECTED,
  DB_POOL_QUEUE_FULL,
  isConnectionFault,
  ResilientPool,
} from './resilient-pool';

/** Why a read that could have gone to a standby went to the primary. */
export type ReplicaFallbackReason = 'down' | 'lagging' | 'error';
export const REPLICA_FALLBACK_REASONS: readonly ReplicaFallbackReason[] = [
  'down',
  'lagging',
  'error',
];

/** One standby as the router last saw it (metrics, tests). */
export interface ReplicaStatus {
  /** Its position in DATABASE_REPLICA_URLS (metrics label it by this, never by URL). */
  index: number;
  /** The last probe answered, and no read has lost its connection since. */
  up: boolean;
  /** Replication lag in ms at the last probe; undefined while unknown (never probed, or down). */
  lagMs: number | undefined;
  /** Up and within DATABASE_REPLICA_MAX_LAG_MS: reads may go to it. */
  inUse: boolean;
}

/** The node-postgres pool of the primary behind a (initialised) DataSource, for plain pooled statements. */
export function primaryPool(ds: DataSource): Pool {
  return (ds.driver as unknown as { master: Pool }).master;
}

/** A WAL position (`16/B374D848`) as a byte offset. */
export function lsnToBigInt(lsn: string): bigint {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn.trim());
  if (!m) throw new Error('not a WAL position');
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/**
 * The primary's WAL position over time (one sample per probe), to tell how
 * old a standby's data is from its replay position alone: a standby that has
 * replayed up to R holds everything the primary had written when its WAL
 * position was R, so its lag is at most the time since the newest sample at
 * or below R. An idle primary's position does not move: a standby that has
 * replayed it is at lag 0, however long ago the last transaction was (the
 * replay timestamp alone would read "hours behind").
 */
export class PrimaryWalHistory {
  private readonly samples: Array<{ at: number; lsn: bigint }> = [];

  constructor(private readonly keepMs: number) {}

  add(at: number, lsn: bigint): void {
    this.samples.push({ at, lsn });
    while (this.samples.length > 1 && at - this.samples[0].at > this.keepMs) this.samples.shift();
  }

  get latest(): bigint | undefined {
    return this.samples.at(-1)?.lsn;
  }

  /**
   * The lag in ms of a standby that has replayed up to `replay`, at `now`:
   * 0 when it has replayed the latest sample; else the age of the newest
   * sample it has replayed, or (behind every sample kept) the age of the
   * oldest — at least keepMs, so past any bound below it.
   */
  lagMs(replay: bigint, now: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    if (replay >= this.samples[this.samples.length - 1].lsn) return 0;
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if (this.samples[i].lsn <= replay) return Math.max(0, now - this.samples[i].at);
    }
    return Math.max(0, now - this.samples[0].at);
  }
}

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The standby is unreachable or lost the connection: mark it down, and read again on the primary. */
export const isReplicaConnectionFault = isConnectionFault;

/**
 * A read on a standby that the primary can answer instead: a connection
 * fault, or a query cancelled by a conflict with recovery (40001: the standby
 * replayed a change the query still needed). Not a statement timeout or a
 * full wait queue (57014, queue full): those are load, which the primary
 * would only get twice over.
 */
export function isReplicaRetryable(err: unknown): boolean {
  const code = codeOf(err);
  if (code === DB_POOL_QUEUE_FULL || code === DB_NOT_CONNECTED || code === '57014') return false;
  return isReplicaConnectionFault(err) || code === '40001';
}

interface Replica {
  index: number;
  pool: ResilientPool;
  up: boolean;
  lagMs: number | undefined;
}

/**
 * Routes reads between the primary and the streaming standbys of
 * DATABASE_REPLICA_URLS (docs/operations.md, "Read replicas"):
 *
 * - every DATABASE_REPLICA_PROBE_MS, the primary's WAL position and each
 *   standby's replay position (one short statement each) give each standby's
 *   health and lag (PrimaryWalHistory; the standby's own replay timestamp
 *   tightens it under steady writes);
 * - `run(true, …)` reads on a standby that is up and within
 *   DATABASE_REPLICA_MAX_LAG_MS (round robin), else on the primary, counted
 *   with the reason (`down`, `lagging`);
 * - a read that loses its standby connection (or is cancelled by a recovery
 *   conflict) runs once more on the primary (`error`): a read-only
 *   transaction is safe to repeat. A lost connection marks the standby down
 *   until a probe answers again;
 * - `run(false, …)` — writes, and reads that must see the caller's own
 *   writes — always runs on the primary.
 *
 * The standbys' pools are its own (not TypeORM's replication): a standby
 * down at start neither delays readiness nor fails the DataSource.
 */
@Injectable()
export class ReplicaRouter implements OnApplicationShutdown {
  private readonly log = new Logger('ReplicaRouter');
  private readonly replicas: Replica[];
  private readonly history: PrimaryWalHistory;
  private readonly listeners: Array<(reason: ReplicaFallbackReason) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private next = 0;
  private stopped = false;

  constructor(
    private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    @Optional() connector?: DatabaseConnector,
  ) {
    this.replicas = env.DATABASE_REPLICA_URLS.map((url, index) => ({
      index,
      pool: new ResilientPool(replicaPoolConfig(env, url)),
      up: false,
      lagMs: undefined,
    }));
    // Kept long enough that a standby behind every sample is past the bound.
    this.history = new PrimaryWalHistory(
      Math.max(10_000, 3 * env.DATABASE_REPLICA_MAX_LAG_MS, 5 * env.DATABASE_REPLICA_PROBE_MS),
    );
    if (this.replicas.length > 0) connector?.onConnect(() => this.start());
  }

  /** Called with the reason of every read sent to the primary instead of a standby (metrics). */
  onFallback(fn: (reason: ReplicaFallbackReason) => void): void {
    this.listeners.push(fn);
  }

  /** The standbys as last probed. */
  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({
      index: r.index,
      up: r.up,
      lagMs: r.lagMs,
      inUse: this.usable(r),
    }));
  }

  /** The standbys' pools (pool metrics). */
  get pools(): readonly Pool[] {
    return this.replicas.map((r) => r.pool);
  }

  /**
   * Runs `fn` on the pool a read goes to: with `replica`, a usable standby
   * (else the primary, counted); without, the primary. `fn` must be a
   * read-only unit of work: it may run twice (standby, then primary).
   */
  async run<T>(replica: boolean, fn: (pool: Pool) => Promise<T>): Promise<T> {
    if (!replica || this.replicas.length === 0) return fn(primaryPool(this.ds));
    const chosen = this.pick();
    if (!chosen) {
      this.fallback(this.replicas.some((r) => r.up) ? 'lagging' : 'down');
      return fn(primaryPool(this.ds));
    }
    try {
      return await fn(chosen.pool);
    } catch (err) {
      if (!isReplicaRetryable(err)) throw err;
      if (isReplicaConnectionFault(err)) this.markDown(chosen, err);
      this.fallback('error');
      return fn(primaryPool(this.ds));
    }
  }

  /** One probe round now (tests; the timer runs them every DATABASE_REPLICA_PROBE_MS). */
  probe(): Promise<void> {
    this.probing ??= this.probeOnce().finally(() => (this.probing = undefined));
    return this.probing;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.probing?.catch(() => undefined);
    await Promise.all(this.replicas.map((r) => r.pool.end().catch(() => undefined)));
  }

  private start(): void {
    if (this.stopped || this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.env.DATABASE_REPLICA_PROBE_MS);
    this.timer.unref();
  }

  private usable(r: Replica): boolean {
    return r.up && r.lagMs !== undefined && r.lagMs <= this.env.DATABASE_REPLICA_MAX_LAG_MS;
  }

  private pick(): Replica | undefined {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n];
      if (this.usable(r)) {
        this.next = (r.index + 1) % n;
        return r;
      }
    }
    return undefined;
  }

  private fallback(reason: ReplicaFallbackReason): void {
    for (const fn of this.listeners) fn(reason);
  }

  private markDown(r: Replica, err: unknown): void {
    if (r.up) {
      this.log.warn(
        { replica: r.index, code: codeOf(err) },
        'read replica lost; reads go to the primary until it answers again',
      );
    }
    r.up = false;
    r.lagMs = undefined;
  }

  /** A statement bounded by the probe's own timeout (a black-holed standby must not hold the round). */
  private async timed<R>(pool: Pool, sql: string): Promise<R> {
    const limit = Math.max(2 * this.env.DATABASE_REPLICA_PROBE_MS, 2000);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        pool.query(sql).then((r) => r.rows[0] as R),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error('probe timed out'), { code: 'ETIMEDOUT' })),
            limit,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async probeOnce(): Promise<void> {
    if (this.stopped) return;
    // The primary first: a standby that has replayed this position has all of it.
    let primaryLsn: bigint | undefined;
    try {
      const p = await this.timed<{ lsn: string | null }>(
        primaryPool(this.ds),
        'SELECT pg_current_wal_lsn()::text AS lsn',
      );
      if (p.lsn) {
        primaryLsn = lsnToBigInt(p.lsn);
        this.history.add(Date.now(), primaryLsn);
      }
    } catch {
      // Primary unreachable (or itself in recovery): the standbys' replay timestamps still say something.
    }
    await Promise.all(this.replicas.map((r) => this.probeReplica(r, primaryLsn)));
  }

  private async probeReplica(r: Replica, primaryLsn: bigint | undefined): Promise<void> {
    try {
      const s = await this.timed<{
        standby: boolean;
        replay: string | null;
        since_replay_ms: string | number | null;
      }>(
        r.pool,
        `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay,
                EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000 AS since_replay_ms`,
      );
      if (!r.up) this.log.log({ replica: r.index }, 'read replica up');
      r.up = true;
      if (!s.standby) {
        // Not in recovery (e.g. the primary's own URL): as current as the primary.
        r.lagMs = 0;
        return;
      }
      const sinceReplay = s.since_replay_ms === null ? undefined : Number(s.since_replay_ms);
      const byWal =
        s.replay && primaryLsn !== undefined
          ? this.history.lagMs(lsnToBigInt(s.replay), Date.now())
          : undefined;
      // Both bound the lag from above: the standby holds every transaction up to its replay
      // timestamp, and everything the primary had at the newest sample it has replayed.
      const bounds = [byWal, sinceReplay].filter(
        (x): x is number => x !== undefined && Number.isFinite(x),
      );
      r.lagMs = bounds.length ? Math.max(0, Math.min(...bounds)) : undefined;
    } catch (err) {
      this.markDown(r, err);
    }
  }
}
