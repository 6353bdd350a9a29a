import { CANONICAL_COLUMNS, canonicalDigest } from './chain';
import { chainHead } from './chain-sealer';
import type { ChainEntry, ChainPages } from './chain-verifier';
import type { Sql } from './sql';

interface EntryRow {
  position: string;
  seq: string;
  tx_id: string;
  prev_hash: string;
  row_hash: string;
}

/**
 * Chain pages with digests computed by the database function (the verify
 * endpoint: the application role sees digests of other labs' events, never
 * the events).
 */
export function databaseDigestPages(sql: Sql): ChainPages {
  return async (after, max) => {
    const r = await sql.query<EntryRow & { digest: string | null }>(
      `SELECT chain_position::text AS position, seq::text, tx_id::text, prev_hash, row_hash, digest
       FROM audit_chain_digests($1::bigint, $2)`,
      [after, max],
    );
    return r.map((x) => ({ ...x, position: Number(x.position) }));
  };
}

/**
 * Chain pages with digests rebuilt here from the raw columns (the CLI, as
 * the owner role): independent of any function in the database, so a
 * replaced `audit_event_digest` cannot hide a change.
 */
export function recomputedDigestPages(sql: Sql): ChainPages {
  const fields = CANONICAL_COLUMNS.map((c, i) => `${c} AS f${i}`).join(', ');
  return async (after, max): Promise<ChainEntry[]> => {
    const r = await sql.query<EntryRow & { present: boolean } & Record<string, string | null>>(
      `SELECT c.position::text AS position, c.seq::text AS seq, c.tx_id::text AS tx_id,
              c.prev_hash::text AS prev_hash, c.row_hash::text AS row_hash,
              (e.seq IS NOT NULL) AS present, ${fields}
       FROM audit_chain c LEFT JOIN audit_events e ON e.seq = c.seq
       WHERE c.position > $1 ORDER BY c.position LIMIT $2`,
      [after, max],
    );
    return r.map((x) => ({
      position: Number(x.position),
      seq: x.seq,
      tx_id: x.tx_id,
      prev_hash: x.prev_hash,
      row_hash: x.row_hash,
      digest: x.present ? canonicalDigest(CANONICAL_COLUMNS.map((_, i) => x[`f${i}`])) : null,
    }));
  };
}

/** Events that can no longer be sealed: below the chain head's transaction and never chained. */
export function strayEvents(sql: Sql): () => Promise<Array<{ seq: string }>> {
  return async () => {
    const head = await chainHead(sql);
    if (!head) return [];
    return sql.query<{ seq: string }>(`SELECT seq::text FROM audit_stray_events($1::xid8, 10)`, [
      head.tx_id,
    ]);
  };
}
