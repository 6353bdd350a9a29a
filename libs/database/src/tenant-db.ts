import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { DatabaseConnector } from './database-connector';
import { primaryPool, ReplicaRouter } from './replica-router';
import { DB_NOT_CONNECTED, DatabaseAvailabilityError } from './resilient-pool';
import type { SqlRunner } from './sql';

export interface TenantReadOptions {
  /**
   * May run on a standby of DATABASE_REPLICA_URLS (ReplicaRouter): a list or
   * report whose caller accepts data up to DATABASE_REPLICA_MAX_LAG_MS old.
   * Never for reads that must see the caller's own writes (a get by id), nor
   * inside a write.
   */
  replica?: boolean;
}

/** Lab ids as the gateway admits them (the UMS's ids, normalised): safe as a SQL literal. */
export const LAB_ID_PATTERN = /^[A-Za-z0-9_-]{1,50}$/;

/** node-postgres's client-side statement timeout (`query_timeout`), also wrapped by TypeORM. */
function isQueryTimeout(err: unknown): boolean {
  const e = err as { message?: unknown; driverError?: { message?: unknown } };
  return e?.message === 'Query read timeout' || e?.driverError?.message === 'Query read timeout';
}

/** TypeORM's postgres query runner: releasing with an error discards the connection. */
interface PgQueryRunner {
  releasePostgresConnection(err?: Error): Promise<void>;
}

export { primaryPool };

/**
 * Every lab-scoped unit of work runs here: one transaction with the lab set as
 * the transaction-local setting `app.lab_id` (set_config(..., true)), which the
 * row-level security policies read. Never a session-level SET: a pooled
 * connection would carry one lab's id into another request.
 */
@Injectable()
export class TenantDb {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly connector: DatabaseConnector,
    private readonly replicas: ReplicaRouter,
  ) {}

  get dataSource(): DataSource {
    return this.ds;
  }

  /** Until DatabaseConnector has connected the DataSource, every unit of work is refused (503). */
  private assertConnected(): void {
    if (!this.connector.isConnected) {
      throw new DatabaseAvailabilityError(DB_NOT_CONNECTED, 'database not connected yet');
    }
  }

  /** A write (or anything needing TypeORM's transaction events, such as the audit trail's): on the primary. */
  async withLab<T>(labId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
    this.assertConnected();
    const runner = this.ds.createQueryRunner('master');
    await runner.connect();
    let broken: Error | undefined;
    try {
      await runner.startTransaction();
      await runner.query(`SELECT set_config('app.lab_id', $1, true)`, [labId]);
      const result = await fn(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (isQueryTimeout(err)) broken = err as Error;
      else if (runner.isTransactionActive) {
        await runner.rollbackTransaction().catch((e: Error) => (broken = e));
      }
      throw err;
    } finally {
      // A connection that could not even roll back (lost, or silent past the client-side query timeout) is
      // discarded, not returned to the pool.
      if (broken) await (runner as unknown as PgQueryRunner).releasePostgresConnection(broken);
      else await runner.release();
    }
  }

  /**
   * A read-only unit of work on a plain pooled connection, pipelined: `BEGIN
   * READ ONLY` and the lab setting (one simple-query message; the lab id,
   * checked against LAB_ID_PATTERN, as an escaped literal — the one place a
   * value is not a bind parameter, because a multi-statement message cannot
   * carry any) go out together with the first statements of `fn`, without
   * waiting for each other's answers (node-postgres's pipeline mode: every
   * statement keeps its own Sync, so one failing cannot take another's
   * result). Statements `fn` issues at once (Promise.all) travel together
   * too: a get by id is one round trip. The COMMIT of the (read-only)
   * transaction is sent once `fn` is done and the connection goes back to
   * the pool when it is answered; the result does not wait for it, since
   * nothing a read-only transaction read depends on its end.
   * With `replica`, ReplicaRouter picks the pool (and may run it again on the
   * primary after a standby fault).
   */
  async read<T>(
    labId: string,
    fn: (db: SqlRunner) => Promise<T>,
    opts: TenantReadOptions = {},
  ): Promise<T> {
    if (!LAB_ID_PATTERN.test(labId)) throw new Error('invalid lab id');
    this.assertConnected();
    return this.replicas.run(opts.replica === true, (pool) => this.readOn(pool, labId, fn));
  }

  private async readOn<T>(
    pool: Pool,
    labId: string,
    fn: (db: SqlRunner) => Promise<T>,
  ): Promise<T> {
    const client = (await pool.connect()) as PoolClient & PipelineSwitch;
    const piped = supportsPipeline(client);
    if (piped) client.pipeline = true;
    const release = (err?: Error): void => {
      if (piped) client.pipeline = false;
      client.release(err);
    };
    let broken: Error | undefined;
    let done = false;
    try {
      corkUntilNextTick(client);
      const begin = client.query(
        `BEGIN READ ONLY; SELECT set_config('app.lab_id', ${client.escapeLiteral(labId)}, true)`,
      );
      begin.catch(noop);
      const result = await fn({
        rows: async <R>(text: string, params: unknown[] = []) => {
          const name = statementName(text);
          const q = name
            ? client.query({ name, text, values: params })
            : client.query(text, params);
          q.catch(noop);
          // The transaction's start first: its failure is the one to report.
          await begin;
          return (await q).rows as R[];
        },
      });
      await begin;
      done = true;
      // The read is complete: the answer goes now, the connection once COMMIT is answered.
      client.query('COMMIT').then(
        () => release(),
        (err: Error) => release(err),
      );
      return result;
    } catch (err) {
      // After a client-side timeout the connection is still busy: discard it at once.
      if (isQueryTimeout(err)) broken = err as Error;
      else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      // A connection that could not even roll back is discarded, not returned to the pool.
      if (!done) release(broken);
    }
  }
}

/** node-postgres's pipeline mode, switched per checked-out connection (the pool's other users await each statement). */
interface PipelineSwitch {
  pipeline?: boolean;
}

/** Whether this node-postgres client has pipeline mode (8.21+); without it statements simply queue. */
function supportsPipeline(client: PipelineSwitch): boolean {
  return typeof client.pipeline === 'boolean';
}

function noop(): void {}

/**
 * node-postgres writes each protocol message (Parse, Bind, Describe,
 * Execute, Sync) with its own socket write: a pipelined read would be ~20
 * system calls, each doing the loopback's TCP work for both ends. Corked
 * until the next tick, what the read issues at once — its start and the
 * statements `fn` sends before its first await — leaves in one write.
 */
function corkUntilNextTick(client: PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: Partial<Writable> } }).connection
    ?.stream;
  if (typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return;
  stream.cork();
  process.nextTick(() => stream.uncork?.());
}

/**
 * Read statements are prepared (named) on each connection the first time it
 * runs them: PostgreSQL then plans a hot read once per connection instead of
 * on every request, and planning costs more than running a get by id
 * (0.3 ms against 0.1 ms on this schema, with row-level security). Bounded:
 * the first MAX_PREPARED_READS distinct texts of the process are prepared,
 * any later one runs unnamed, so a connection never holds more. The texts
 * name explicit columns, so a migration that adds a column does not change
 * a prepared statement's result (which PostgreSQL would refuse).
 */
export const MAX_PREPARED_READS = 64;
const preparedNames = new Map<string, string>();

export function statementName(text: string): string | undefined {
  const known = preparedNames.get(text);
  if (known) return known;
  if (preparedNames.size >= MAX_PREPARED_READS) return undefined;
  const name = `lhcms_r_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
  preparedNames.set(text, name);
  return name;
}
