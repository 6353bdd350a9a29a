import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appRole, grantToApp } from '../libs/database/src/migration-helpers';
import { eventDigestV1, sealerFunctionsV1 } from './1764700000000-CreateAuditTrail';
// The canonical row of version 1: fixed for good (changing it would break every existing chain).
import { CANONICAL_COLUMNS } from '../apps/api/src/audit/chain';

/**
 * Sealing that costs the request path less (issue #4, throughput target).
 *
 * - `audit_event_digest` becomes one inlinable expression: the same canonical
 *   row and the same digests as version 1 (a test compares it with the
 *   TypeScript rebuild), but without unnest/string_agg and without its own
 *   `SET search_path`, so the planner inlines it into the SECURITY DEFINER
 *   callers (which fix the search path themselves) instead of planning a
 *   function body per row: ~3× cheaper per event. It only calls built-ins.
 * - The sealer resumes after the chain head's (tx_id, seq) instead of
 *   anti-joining every candidate against `audit_chain`: the chained events
 *   are always a prefix of the (tx_id, seq) order (an event is only chained
 *   once every transaction below its own has finished), so what follows the
 *   head is exactly what is unchained. The anti-join also re-read every
 *   chained event of the head's transaction on every round. `uq_audit_chain_seq`
 *   still refuses a double seal.
 */
export class FasterAuditSealing1764900000000 implements MigrationInterface {
  name = 'FasterAuditSealing1764900000000';

  async up(q: QueryRunner): Promise<void> {
    const schema = await currentSchema(q);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_event_digest(e audit_events) RETURNS text
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT encode(sha256(convert_to('lhcms-audit-v1' || ${CANONICAL_COLUMNS.map(
          (c) => `coalesce('S' || octet_length(${c}) || ':' || ${c}, 'N')`,
        ).join(' || ')}, 'UTF8')), 'hex')
      $$`);
    // CREATE OR REPLACE keeps nothing of the old definition but the name: make sure no SET remains.
    await q.query(`ALTER FUNCTION audit_event_digest(audit_events) RESET ALL`);

    await q.query(`DROP FUNCTION audit_seal_candidates(xid8, integer)`);
    await q.query(`DROP FUNCTION audit_sealing_backlog(xid8)`);
    // Both walk ix_audit_events_tx from the head, whatever the statistics say:
    // a LANGUAGE sql function is planned without its arguments' values, and
    // that generic plan was a sequential scan of the whole trail (the backlog
    // count, with a hash anti-join) once per sealing round, ~170 ms at 100 000
    // events and growing with the trail. Custom plans of PL/pgSQL with the
    // scan kinds that read the whole table switched off.
    await q.query(`
      CREATE FUNCTION audit_seal_candidates(after_tx xid8, after_seq bigint, max_rows integer)
      RETURNS TABLE (seq bigint, tx_id xid8, digest text)
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = ${schema}, pg_temp ${INDEX_WALK} AS $$
      BEGIN
        RETURN QUERY
          SELECT e.seq, e.tx_id, audit_event_digest(e)
          FROM audit_events e
          WHERE (e.tx_id, e.seq) > (after_tx, after_seq)
            AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY e.tx_id, e.seq
          LIMIT max_rows;
      END $$`);
    await q.query(`
      CREATE FUNCTION audit_sealing_backlog(after_tx xid8, after_seq bigint)
      RETURNS TABLE (unsealed bigint, oldest timestamptz)
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = ${schema}, pg_temp ${INDEX_WALK} AS $$
      BEGIN
        RETURN QUERY
          SELECT count(*), min(e.recorded_at)
          FROM audit_events e
          WHERE (e.tx_id, e.seq) > (after_tx, after_seq);
      END $$`);
    await grantSealerFunctions(q, [
      'audit_seal_candidates(xid8, bigint, integer)',
      'audit_sealing_backlog(xid8, bigint)',
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    const schema = await currentSchema(q);
    await q.query(`DROP FUNCTION audit_seal_candidates(xid8, bigint, integer)`);
    await q.query(`DROP FUNCTION audit_sealing_backlog(xid8, bigint)`);
    for (const sql of sealerFunctionsV1(schema)) await q.query(sql);
    await grantSealerFunctions(q, [
      'audit_seal_candidates(xid8, integer)',
      'audit_sealing_backlog(xid8)',
    ]);
    // The version-1 digest function (same digests, the slower form).
    await q.query(eventDigestV1(schema));
  }
}

/** Function settings: plan with the arguments' values and walk the index. */
const INDEX_WALK =
  'SET plan_cache_mode = force_custom_plan SET enable_seqscan = off SET enable_bitmapscan = off';

async function currentSchema(q: QueryRunner): Promise<string> {
  return ((await q.query(`SELECT quote_ident(current_schema()) AS s`)) as Array<{ s: string }>)[0]
    .s;
}

async function grantSealerFunctions(q: QueryRunner, functions: string[]): Promise<void> {
  const list = `FUNCTION ${functions.join(', ')}`;
  for (const f of functions) await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
  await grantToApp(q, 'EXECUTE', list);
  // One role for everything (no separate app role): it still needs the functions.
  if (!(await appRole(q))) await q.query(`GRANT EXECUTE ON ${list} TO CURRENT_USER`);
}
