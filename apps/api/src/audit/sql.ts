import type { DataSource } from 'typeorm';
import type { ClientBase, Pool } from 'pg';
import { rows } from '@lhcms/database';

/** The little the chain code needs of a connection: parameterised statements and transactions. */
export interface Sql {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface SqlDb extends Sql {
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
}

/** The app's DataSource (application role). */
export function typeormSql(ds: DataSource): SqlDb {
  return {
    query: <T>(text: string, params: unknown[] = []) => ds.query<T[]>(text, params),
    transaction: <T>(fn: (sql: Sql) => Promise<T>) =>
      ds.transaction((em) => fn({ query: <R>(t: string, p: unknown[] = []) => rows<R>(em, t, p) })),
  };
}

/** A node-postgres client (the CLI, as the owner role). */
export function pgSql(client: ClientBase): SqlDb {
  const query = async <T>(text: string, params: unknown[] = []) =>
    (await client.query(text, params)).rows as T[];
  return {
    query,
    async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
      await client.query('BEGIN');
      try {
        const out = await fn({ query });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
  };
}

/** A node-postgres pool: statements on any of its connections, a transaction on one. */
export function poolSql(pool: Pool): SqlDb {
  return {
    query: async <T>(text: string, params: unknown[] = []) =>
      (await pool.query(text, params)).rows as T[],
    async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        return await pgSql(client).transaction(fn);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        client.release(failure); // a failed connection is not handed out again
      }
    },
  };
}
