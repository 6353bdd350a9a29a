import { GENESIS, rowHash } from './chain';
import type { Sql, SqlDb } from './sql';

/** One sealer at a time across replicas and the CLI (transaction-scoped advisory lock). */
const SEALER_LOCK = 7_310_443_556_001;

export interface ChainHead {
  position: number;
  seq: string;
  tx_id: string;
  row_hash: string;
}

export async function chainHead(sql: Sql): Promise<ChainHead | undefined> {
  const r = await sql.query<{ position: string; seq: string; tx_id: string; row_hash: string }>(
    `SELECT c.position::text AS position, c.seq::text AS seq, c.tx_id::text AS tx_id, c.row_hash::text AS row_hash
     FROM audit_chain c ORDER BY c.position DESC LIMIT 1`,
  );
  return r[0] ? { ...r[0], position: Number(r[0].position) } : undefined;
}

export async function chainId(sql: Sql): Promise<string> {
  const r = await sql.query<{ chain_id: string }>(
    `SELECT chain_id::text AS chain_id FROM audit_chain_meta`,
  );
  if (!r[0]) throw new Error('audit_chain_meta has no chain id');
  return r[0].chain_id;
}

/** Committed events not yet chained, and how long the oldest has waited. */
export async function sealingBacklog(
  sql: Sql,
  head: ChainHead | undefined,
): Promise<{ unsealed: number; lagSeconds: number }> {
  const r = await sql.query<{ unsealed: string; lag: number | null }>(
    `SELECT unsealed::text, extract(epoch FROM now() - oldest)::float8 AS lag
     FROM audit_sealing_backlog($1::xid8, $2::bigint)`,
    [head?.tx_id ?? '0', head?.seq ?? '0'],
  );
  return { unsealed: Number(r[0]?.unsealed ?? 0), lagSeconds: Math.max(0, r[0]?.lag ?? 0) };
}

/**
 * Links events into the hash chain in commit order without serialising
 * request handling: only events whose inserting transaction is older than
 * the oldest running one (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`)
 * are sealed, so no transaction can still commit an event that belongs
 * before them. They get the next positions in (tx_id, seq) order, so the
 * chained events are always a prefix of that order and the next candidates
 * are simply those after the head's (tx_id, seq). The sealer
 * reads digests, never rows (SECURITY DEFINER `audit_seal_candidates`), and
 * only INSERTs chain entries.
 */
export async function sealOnce(
  db: SqlDb,
  key: Buffer,
  maxRows = 1000,
): Promise<{ sealed: number; more: boolean; head?: ChainHead }> {
  return db.transaction(async (sql) => {
    const lock = await sql.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock($1::bigint) AS locked`,
      [SEALER_LOCK],
    );
    if (!lock[0]?.locked) return { sealed: 0, more: false };
    const head = await chainHead(sql);
    const candidates = await sql.query<{ seq: string; tx_id: string; digest: string }>(
      `SELECT seq::text, tx_id::text, digest FROM audit_seal_candidates($1::xid8, $2::bigint, $3)`,
      [head?.tx_id ?? '0', head?.seq ?? '0', maxRows],
    );
    if (candidates.length === 0) return { sealed: 0, more: false, head };
    let prev = head?.row_hash ?? GENESIS;
    let position = head?.position ?? 0;
    const cols = {
      position: [] as number[],
      seq: [] as string[],
      tx: [] as string[],
      prev: [] as string[],
      hash: [] as string[],
    };
    for (const c of candidates) {
      position++;
      const hash = rowHash(key, prev, position, c.seq, c.digest);
      cols.position.push(position);
      cols.seq.push(c.seq);
      cols.tx.push(c.tx_id);
      cols.prev.push(prev);
      cols.hash.push(hash);
      prev = hash;
    }
    await sql.query(
      `INSERT INTO audit_chain (position, seq, tx_id, prev_hash, row_hash)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::xid8[], $4::text[], $5::text[])`,
      [cols.position, cols.seq, cols.tx, cols.prev, cols.hash],
    );
    const last = candidates[candidates.length - 1];
    return {
      sealed: candidates.length,
      more: candidates.length === maxRows,
      head: { position, seq: last.seq, tx_id: last.tx_id, row_hash: prev },
    };
  });
}
