import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { Env } from '@lhcms/config';
import { appPoolConfig, ResilientPool } from '@lhcms/database';

/** Group-commit batches in flight (AUDIT_BATCH_MAX_IN_FLIGHT, at most 2), and the sealer. */
export const AUDIT_CONNECTIONS = 3;
/** What pg_stat_activity shows for them. */
export const AUDIT_APPLICATION_NAME = 'lhcms-audit';

/**
 * The audit trail's own few connections to the primary (same URL, role and
 * settings as the request pool): the group-commit INSERTs and the sealer run
 * on them instead of on whichever request connection is free.
 *
 * Why: every row the trail writes lands on fresh pages of the audit table,
 * its indexes and the chain, and each PostgreSQL backend maps a shared-buffer
 * page (a page fault) the first time it touches it. Spread over the request
 * pool's 20–50 backends, that was paid up to once per backend; on 2–3
 * long-lived backends it is paid once, and their caches stay warm (the
 * prepared INSERT is also parsed once per connection, 3 times instead of up
 * to 50). Measured with `bench:audit` in interleaved runs, auditing on in
 * both: 6–7 % more list throughput, ~120 µs less PostgreSQL CPU per list.
 * A busy request pool also never delays an audit commit.
 *
 * The writes inside a case transaction stay in that transaction (atomicity).
 */
@Injectable()
export class AuditConnections implements OnApplicationShutdown {
  private pool: Pool | undefined;

  constructor(private readonly env: Env) {}

  /**
   * The pool, opened on first use. A connection that breaks (server restart,
   * failover) fails what runs on it and is replaced on the next use; it never
   * ends the process (ResilientPool).
   */
  get(): Pool {
    this.pool ??= new ResilientPool({
      ...appPoolConfig(this.env),
      max: AUDIT_CONNECTIONS,
      // Its callers (the batch writer, the sealer) bound their own concurrency.
      maxWaiting: 0,
      // Long-lived on purpose (see above); recycled like the request pool (DB_POOL_RECYCLE).
      idleTimeoutMillis: 0,
      application_name: AUDIT_APPLICATION_NAME,
    });
    return this.pool;
  }

  /** After the HTTP server has closed: in-flight batches and sealing rounds finish first. */
  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end();
  }
}
