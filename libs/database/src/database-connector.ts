import { setTimeout as sleep } from 'node:timers/promises';
import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Env } from '@lhcms/config';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { runMigrations } from './migrate';

/** First retry after this long, doubling up to MAX_BACKOFF_MS (with jitter). */
export const FIRST_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 3_000;

/** The code of an error, or of the error it wraps (TypeORM wraps pg's). */
function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.driverError?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Connects the app's DataSource in the background, so that the process
 * starts — and answers `/health/live` — while PostgreSQL is unreachable,
 * instead of exiting (a crash loop recovers minutes after the database does).
 *
 * Until the first connection succeeds, readiness and startup are 503 and
 * every database-backed request is 503 `Database unavailable`. Attempts
 * repeat with exponential backoff (250 ms doubling to 3 s, ±20 % jitter);
 * one warning when the database is unreachable, one line when connected.
 * When migrations run at start (DB_MIGRATE_ON_START: development, embedded),
 * they run first, as part of the same retried attempt.
 *
 * After that first connection the pool replaces broken connections by itself
 * (ResilientPool): a later outage fails requests with 503 while it lasts and
 * needs nothing from here.
 */
@Injectable()
export class DatabaseConnector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Database');
  private stopped = false;
  private migrated = false;
  private loop: Promise<void> | undefined;
  private ready = false;
  private readonly hooks: Array<(ds: DataSource) => void> = [];
  /** Ends a backoff wait at shutdown. */
  private readonly stopWaiting = new AbortController();
  private resolveConnected!: () => void;
  /** Settles once the DataSource is connected (never, if the app stops first). */
  readonly connected: Promise<void> = new Promise((r) => (this.resolveConnected = r));

  constructor(
    private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /** Connected, and every onConnect hook has run: units of work may start. */
  get isConnected(): boolean {
    return this.ready;
  }

  /**
   * Runs `fn` with the connected DataSource before any unit of work can start
   * (at once when already connected). For what initialize() would otherwise
   * reset, such as transaction subscribers.
   */
  onConnect(fn: (ds: DataSource) => void): void {
    if (this.ready) fn(this.ds);
    else this.hooks.push(fn);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.stopWaiting.abort();
    // A connection attempt in progress finishes (bounded by DB_POOL_TIMEOUT), so the
    // DataSource is not initialised behind TypeORM's shutdown hook.
    await this.loop;
  }

  private async run(): Promise<void> {
    let delay = FIRST_BACKOFF_MS;
    let failures = 0;
    let lastProblem: string | undefined;
    while (!this.stopped) {
      try {
        await this.attempt();
        if (this.stopped) return;
        for (const hook of this.hooks.splice(0)) hook(this.ds);
        this.ready = true;
        if (failures > 0) this.log.log(`database connected after ${failures} failed attempt(s)`);
        this.resolveConnected();
        return;
      } catch (err) {
        failures++;
        // Once per kind of failure, not per attempt: what failed (connecting, or the start-up
        // migrations) and its code. Never the message: it can carry a host or a value.
        const phase = this.env.migrateOnStart && !this.migrated ? 'migrations' : 'connect';
        const problem = `${phase}:${codeOf(err) ?? (err as Error)?.name ?? 'error'}`;
        if (problem !== lastProblem) {
          lastProblem = problem;
          this.log.warn(
            { phase, code: codeOf(err) ?? (err as Error)?.name },
            phase === 'migrations'
              ? 'start-up migrations failed; not ready, retrying with backoff'
              : 'database unreachable; not ready, retrying with backoff',
          );
        }
        await sleep(delay * (0.8 + Math.random() * 0.4), undefined, {
          signal: this.stopWaiting.signal,
        }).catch(() => undefined);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async attempt(): Promise<void> {
    if (this.env.migrateOnStart && !this.migrated) {
      const applied = await runMigrations(this.env);
      this.migrated = true;
      if (applied.length) this.log.log(`migrations applied: ${applied.join(', ')}`);
    }
    if (this.stopped) return;
    try {
      await this.ds.initialize();
    } catch (err) {
      // A pool the failed attempt already opened would otherwise leak with its connection.
      const driver = this.ds.driver as unknown as { master?: Pool; slaves?: Pool[] };
      const pools = [driver.master, ...(driver.slaves ?? [])].filter((p): p is Pool => !!p);
      driver.master = undefined;
      driver.slaves = [];
      await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
      throw err;
    }
  }
}
