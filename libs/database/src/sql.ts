import type { EntityManager } from 'typeorm';

/** A connection inside a transaction that runs parameterised statements and returns their rows. */
export interface SqlRunner {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
}

/** Where repository code runs its SQL: a TypeORM transaction (writes) or a plain read transaction. */
export type Db = EntityManager | SqlRunner;

function isRunner(db: Db): db is SqlRunner {
  return typeof (db as SqlRunner).rows === 'function';
}

/**
 * Runs a parameterised statement on the transaction's connection and returns
 * its rows, whatever the command (TypeORM's `query()` returns `[rows, count]`
 * for UPDATE/DELETE ... RETURNING but plain rows for SELECT/INSERT).
 */
export async function rows<T>(db: Db, text: string, params: unknown[] = []): Promise<T[]> {
  if (isRunner(db)) return db.rows<T>(text, params);
  if (!db.queryRunner) return db.query<T[]>(text, params);
  const r = await db.queryRunner.query(text, params, true);
  return (r.records ?? []) as T[];
}
