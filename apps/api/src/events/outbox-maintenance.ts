import type { Env } from '@lhcms/config';
import { Client } from 'pg';

export interface OutboxBacklog {
  /** Events not yet handed to the sinks. */
  undispatched: number;
  /** Age of the oldest of them, in seconds (0 when there is none). */
  oldestAgeSeconds: number;
}

export interface OutboxPruneReport {
  events: number;
  cutoff: string;
  dryRun: boolean;
}

const BATCH = 5000;

/**
 * An event a webhook still has to deliver (a pending delivery row) is kept
 * past the cutoff: deleting it would delete the delivery with it (the
 * delivery row's foreign key cascades) and lose it.
 */
const NO_PENDING_DELIVERY = `NOT EXISTS (SELECT 1 FROM webhook_deliveries d
  WHERE d.event_id = o.id AND d.status = 'pending')`;

async function ownerClient(env: Env): Promise<Client> {
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  // As the application role, row-level security would show no event at all and
  // the prune would "succeed" doing nothing: refuse instead (as the case purge does).
  const owner = await db.query<{ ok: boolean }>(
    `SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS ok
       FROM pg_class c WHERE c.oid = to_regclass('case_outbox')`,
  );
  if (!owner.rows[0]?.ok) {
    await db.end();
    throw new Error(
      'outbox prune must run as the schema owner: set DATABASE_OWNER_URL to the owner role',
    );
  }
  return db;
}

/**
 * `lhcms outbox prune --older-than-days N`: deletes events dispatched more
 * than N days ago, in batches (short transactions: the outbox is written by
 * every case change). Undispatched events are never pruned, nor events a
 * webhook delivery still waits to send: that would lose them (docs/events.md,
 * "Retention").
 */
export async function pruneOutbox(
  env: Env,
  olderThanDays: number,
  opts: { dryRun?: boolean; now?: Date } = {},
): Promise<OutboxPruneReport> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - olderThanDays * 86_400_000);
  const report: OutboxPruneReport = {
    events: 0,
    cutoff: cutoff.toISOString(),
    dryRun: !!opts.dryRun,
  };
  const db = await ownerClient(env);
  try {
    if (opts.dryRun) {
      const r = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM case_outbox o
          WHERE dispatched_at IS NOT NULL AND dispatched_at < $1 AND ${NO_PENDING_DELIVERY}`,
        [cutoff],
      );
      return { ...report, events: r.rows[0].n };
    }
    for (;;) {
      const r = await db.query(
        `DELETE FROM case_outbox WHERE id IN (
           SELECT id FROM case_outbox o WHERE dispatched_at IS NOT NULL AND dispatched_at < $1
              AND ${NO_PENDING_DELIVERY} LIMIT $2)`,
        [cutoff, BATCH],
      );
      report.events += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < BATCH) return report;
    }
  } finally {
    await db.end();
  }
}

/** How far behind the sinks are (`lhcms outbox status`). */
export async function outboxBacklog(env: Env): Promise<OutboxBacklog> {
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  try {
    const r = await db.query<{ undispatched: string; oldest_age_seconds: number }>(
      `SELECT undispatched, oldest_age_seconds FROM lhcms_outbox_backlog()`,
    );
    return {
      undispatched: Number(r.rows[0].undispatched),
      oldestAgeSeconds: r.rows[0].oldest_age_seconds,
    };
  } finally {
    await db.end();
  }
}
