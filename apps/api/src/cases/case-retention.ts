import type { Env } from '@lhcms/config';
import { Client } from 'pg';
import { insertStatement, systemRecord } from '../audit';
import { IDEMPOTENCY_WINDOW_HOURS } from './idempotency.repository';

export interface CaseRetentionReport {
  /** Rows past DATA_RETENTION_DAYS: soft-deleted, or closed (completed/cancelled) and untouched since. */
  cases: number;
  events: number;
  /** Attachment rows removed with their cases, and their stored objects. */
  attachments: number;
  objectsRemoved: number;
  /** Objects that could not be removed (the store failed): `lhcms attachments fsck --fix` finds them later. */
  objectsLeft: number;
  idempotencyKeys: number;
  cutoff: string;
  dryRun: boolean;
}

const BATCH = 1000;

/**
 * `lhcms retention purge` (docs/hipaa.md, "Case retention"): the one
 * job that removes case rows. Runs as the owner role (cross-lab, allowed by
 * the row-level security owner policy and the case_events append-only
 * trigger). A case goes when its retention (DATA_RETENTION_DAYS, default 7
 * years) has passed since it was deleted, or since it was last changed after
 * it closed; open cases are never purged. Its timeline goes with it (and its
 * notes, by the notes tables' ON DELETE CASCADE); its
 * audit rows stay (they follow the audit trail's own 6-year floor). Its
 * attachments go too: rows in the same transaction, stored objects right
 * after it commits (`objects`, the attachment store). Expired
 * idempotency keys are removed too. The purge is itself audited, counts only.
 */
/** Removes stored attachment objects once their rows are gone (the attachment store). */
export interface PurgedObjects {
  delete(key: string): Promise<void>;
}

export async function purgeExpiredCases(
  env: Env,
  opts: { dryRun?: boolean; now?: Date; objects?: PurgedObjects } = {},
): Promise<CaseRetentionReport> {
  const now = opts.now ?? new Date();
  const cutoff = new Date(now.getTime() - env.DATA_RETENTION_DAYS * 86_400_000);
  const report: CaseRetentionReport = {
    cases: 0,
    events: 0,
    attachments: 0,
    objectsRemoved: 0,
    objectsLeft: 0,
    idempotencyKeys: 0,
    cutoff: cutoff.toISOString(),
    dryRun: !!opts.dryRun,
  };
  const eligible = `(deleted_at < $1 OR (deleted_at IS NULL AND status IN ('completed', 'cancelled') AND updated_at < $1))`;
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  try {
    // As the application role, row-level security would show no case at all
    // and the purge would "succeed" doing nothing: refuse instead.
    const owner = await db.query<{ ok: boolean }>(
      `SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS ok
         FROM pg_class c WHERE c.oid = to_regclass('cases')`,
    );
    if (!owner.rows[0]?.ok) {
      throw new Error(
        'retention purge must run as the schema owner: set DATABASE_OWNER_URL to the owner role',
      );
    }
    if (opts.dryRun) {
      const r = await db.query<{ cases: number; events: number; attachments: number }>(
        `SELECT count(*)::int AS cases,
                (SELECT count(*)::int FROM case_events e WHERE e.case_id IN (SELECT id FROM cases WHERE ${eligible})) AS events,
                (SELECT count(*)::int FROM attachments a WHERE a.case_id IN (SELECT id FROM cases WHERE ${eligible})) AS attachments
         FROM cases WHERE ${eligible}`,
        [cutoff],
      );
      const k = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM idempotency_keys WHERE created_at < $1::timestamptz - make_interval(hours => $2)`,
        [now, IDEMPOTENCY_WINDOW_HOURS],
      );
      return {
        ...report,
        cases: r.rows[0].cases,
        events: r.rows[0].events,
        attachments: r.rows[0].attachments,
        idempotencyKeys: k.rows[0].n,
      };
    }
    for (;;) {
      await db.query('BEGIN');
      const ids = (
        await db.query<{ id: number }>(
          `SELECT id FROM cases WHERE ${eligible} ORDER BY id LIMIT ${BATCH} FOR UPDATE`,
          [cutoff],
        )
      ).rows.map((r) => r.id);
      if (ids.length === 0) {
        await db.query('COMMIT');
        break;
      }
      report.events +=
        (await db.query(`DELETE FROM case_events WHERE case_id = ANY($1)`, [ids])).rowCount ?? 0;
      // A case's attachments go with it: the rows now, their objects once the rows are gone
      // (a failed object delete leaves an orphan for fsck, never a row without its object).
      const keys = (
        await db.query<{ object_key: string }>(
          `DELETE FROM attachments WHERE case_id = ANY($1) RETURNING object_key`,
          [ids],
        )
      ).rows.map((r) => r.object_key);
      report.attachments += keys.length;
      report.idempotencyKeys +=
        (await db.query(`DELETE FROM idempotency_keys WHERE case_id = ANY($1)`, [ids])).rowCount ??
        0;
      report.cases += (await db.query(`DELETE FROM cases WHERE id = ANY($1)`, [ids])).rowCount ?? 0;
      await db.query('COMMIT');
      for (const key of keys) {
        try {
          if (!opts.objects) throw new Error('no object store');
          await opts.objects.delete(key);
          report.objectsRemoved++;
        } catch {
          report.objectsLeft++;
        }
      }
    }
    report.idempotencyKeys +=
      (
        await db.query(
          `DELETE FROM idempotency_keys WHERE created_at < $1::timestamptz - make_interval(hours => $2)`,
          [now, IDEMPOTENCY_WINDOW_HOURS],
        )
      ).rowCount ?? 0;
    const { text, params } = insertStatement([
      systemRecord({
        interaction: 'purge',
        resource_type: 'Case',
        tool: 'lhcms retention purge',
        subjectCount: report.cases,
        query: {
          cutoff: report.cutoff,
          retention_days: env.DATA_RETENTION_DAYS,
          cases: report.cases,
          case_events: report.events,
          attachments: report.attachments,
          attachment_objects_removed: report.objectsRemoved,
          idempotency_keys: report.idempotencyKeys,
        },
      }),
    ]);
    await db.query(text, params);
    return report;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await db.end();
  }
}
