import type { Env } from '@lhcms/config';
import { Client } from 'pg';
import { insertStatement, systemRecord } from './audit-event';
import { auditKeys } from './audit-keys';
import { chainHead, chainId, sealOnce } from './chain-sealer';
import { recomputedDigestPages, strayEvents } from './chain-sources';
import { type VerifyReport, verifyChain } from './chain-verifier';
import { CheckpointStore } from './checkpoints';
import { pgSql, type SqlDb } from './sql';

/**
 * `lhcms audit …`: the operations side of the audit trail, connected as the
 * owner role (DATABASE_OWNER_URL, else DATABASE_URL).
 */
async function withOwner<T>(env: Env, fn: (db: SqlDb) => Promise<T>): Promise<T> {
  const url = env.ownerDatabaseUrl;
  if (!url) throw new Error('DATABASE_OWNER_URL (or DATABASE_URL) is not set');
  const client = new Client({ connectionString: url, application_name: 'lhcms-audit' });
  await client.connect();
  try {
    return await fn(pgSql(client));
  } finally {
    await client.end();
  }
}

/** Walks the whole chain, rebuilding every digest from the raw rows, and checks the checkpoints. */
export async function auditVerify(env: Env): Promise<VerifyReport> {
  const key = auditKeys(env).chain;
  return withOwner(env, async (db) => {
    const id = await chainId(db);
    const store = new CheckpointStore(env.auditCheckpointDir, id, key);
    return verifyChain(key, id, recomputedDigestPages(db), store.list(), strayEvents(db));
  });
}

export function describeReport(r: VerifyReport): string {
  if (r.status === 'intact') {
    const range =
      r.first_position === null
        ? 'empty chain'
        : `positions ${r.first_position}..${r.last_position}`;
    return `intact: ${r.entries_checked} events (${range}), ${r.checkpoints_checked} checkpoints verified (chain ${r.chain_id})`;
  }
  const p = r.problem;
  return `TAMPERED: ${p?.kind} at position ${p?.position}${p?.seq ? ` (seq ${p.seq})` : ''}: ${p?.detail}`;
}

/** Seals everything sealable now and writes a checkpoint of the head. */
export async function auditSeal(env: Env): Promise<{ sealed: number; position: number }> {
  const key = auditKeys(env).chain;
  return withOwner(env, async (db) => {
    let sealed = 0;
    for (;;) {
      const r = await sealOnce(db, key);
      sealed += r.sealed;
      if (!r.more) break;
    }
    const head = await chainHead(db);
    if (head) {
      new CheckpointStore(env.auditCheckpointDir, await chainId(db), key).write({
        position: head.position,
        seq: head.seq,
        hash: head.row_hash,
      });
    }
    return { sealed, position: head?.position ?? 0 };
  });
}

export interface PurgeResult {
  cutoff: string;
  throughPosition: number | null;
  events: number;
  chainEntries: number;
  dryRun: boolean;
}

/**
 * Retention purge (docs/hipaa.md, "Retention"). Audit rows
 * are kept max(6 years, DATA_RETENTION_DAYS): never less than 6 years
 * whatever the setting, and the database refuses younger deletes anyway
 * (trigger). The cut is made at a signed checkpoint whose whole prefix is
 * past retention, so the kept chain verifies from that checkpoint; the
 * chain head's entry and event are always kept. The purge is itself
 * audited, with counts only.
 */
export async function auditPurge(
  env: Env,
  dryRun: boolean,
  now = new Date(),
): Promise<PurgeResult> {
  const key = auditKeys(env).chain;
  return withOwner(env, async (db) => {
    const [{ cutoff }] = await db.query<{ cutoff: string }>(
      `SELECT to_char(($1::timestamptz - greatest(interval '6 years', make_interval(days => $2))) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cutoff`,
      [now.toISOString(), env.DATA_RETENTION_DAYS],
    );
    const store = new CheckpointStore(env.auditCheckpointDir, await chainId(db), key);
    const checkpoints = store
      .list()
      .flatMap((f) => (f.checkpoint ? [f.checkpoint] : []))
      .reverse();
    // Never through the head: the chain goes on from its last entry. Emptied, it would
    // restart at position 1 from the genesis hash and contradict every checkpoint.
    const head = await chainHead(db);
    let through: number | null = null;
    for (const cp of checkpoints) {
      if (!head || cp.position >= head.position) continue;
      const r = await db.query<{ row_hash: string | null; newest: string | null }>(
        `SELECT (SELECT row_hash::text FROM audit_chain WHERE position = $1) AS row_hash,
                (SELECT max(e.occurred_at)::text FROM audit_chain c JOIN audit_events e ON e.seq = c.seq
                  WHERE c.position <= $1) AS newest`,
        [cp.position],
      );
      if (r[0]?.row_hash !== cp.hash) continue; // already purged, or not this chain's state: not a cut point
      const old = await db.query<{ old: boolean }>(
        `SELECT ($1::timestamptz IS NULL OR $1::timestamptz < $2::timestamptz) AS old`,
        [r[0].newest, cutoff],
      );
      if (old[0]?.old) {
        through = cp.position;
        break;
      }
    }
    const result: PurgeResult = {
      cutoff,
      throughPosition: through,
      events: 0,
      chainEntries: 0,
      dryRun,
    };
    await db.transaction(async (sql) => {
      if (through !== null) {
        const counts = await sql.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM audit_chain WHERE position <= $1`,
          [through],
        );
        result.chainEntries = Number(counts[0].n);
        result.events = result.chainEntries;
        if (!dryRun) {
          await sql.query(`SELECT set_config('lhcms.audit_purge', 'on', true)`);
          const ev = await sql.query<{ seq: string }>(
            `DELETE FROM audit_events e USING audit_chain c
             WHERE c.seq = e.seq AND c.position <= $1 RETURNING e.seq::text AS seq`,
            [through],
          );
          const ch = await sql.query<{ seq: string }>(
            `DELETE FROM audit_chain WHERE position <= $1 RETURNING seq::text AS seq`,
            [through],
          );
          result.events = ev.length;
          result.chainEntries = ch.length;
        }
      }
      if (dryRun) return;
      const record = systemRecord({
        interaction: 'purge',
        resource_type: 'AuditEvent',
        tool: 'lhcms audit purge',
        subjectCount: result.events,
        query: {
          cutoff,
          retention: `max(6 years, ${env.DATA_RETENTION_DAYS} days)`,
          through_position: through,
          chain_entries: result.chainEntries,
        },
      });
      const { text, params } = insertStatement([record]);
      await sql.query(text, params);
    });
    return result;
  });
}
