import { Client } from 'pg';
import { pgUrl } from './pg-url';

export interface ProvisionOptions {
  /** A superuser (or CREATEROLE + CREATEDB) connection to the cluster's maintenance database. */
  adminUrl: string;
  database: string;
  ownerRole: string;
  ownerPassword: string;
  appRole: string;
  appPassword: string;
  /** Host and port the returned URLs point at (default: taken from adminUrl). */
  host?: string;
  port?: number;
}

export interface ProvisionedDatabase {
  /** The application role: no ownership, no BYPASSRLS. */
  appUrl: string;
  /** The schema owner: migrations and the retention job. */
  ownerUrl: string;
}

const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_DATABASE = '42P04';

function isDuplicate(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === DUPLICATE_OBJECT || code === UNIQUE_VIOLATION || code === DUPLICATE_DATABASE;
}

async function ensureRole(c: Client, role: string, password: string, extra: string): Promise<void> {
  const id = c.escapeIdentifier(role);
  const pw = c.escapeLiteral(password);
  const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (!rowCount) {
    try {
      await c.query(`CREATE ROLE ${id} LOGIN PASSWORD ${pw} ${extra}`);
      return;
    } catch (err) {
      // Roles are cluster-wide: a concurrent test run may have created it first.
      if (!isDuplicate(err)) throw err;
    }
  }
  await c.query(`ALTER ROLE ${id} LOGIN PASSWORD ${pw} ${extra}`);
}

/**
 * Creates (idempotently) the two roles LHCMS runs with and a database owned by
 * the owner role. The app role gets CONNECT only; table privileges come from
 * the migrations, which grant them explicitly.
 */
export async function provisionDatabase(o: ProvisionOptions): Promise<ProvisionedDatabase> {
  const c = new Client({ connectionString: o.adminUrl });
  await c.connect();
  try {
    await ensureRole(c, o.ownerRole, o.ownerPassword, 'NOSUPERUSER NOBYPASSRLS');
    await ensureRole(
      c,
      o.appRole,
      o.appPassword,
      'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE',
    );
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      o.database,
    ]);
    if (!rowCount) {
      try {
        await c.query(
          `CREATE DATABASE ${c.escapeIdentifier(o.database)} OWNER ${c.escapeIdentifier(o.ownerRole)} ENCODING 'UTF8' TEMPLATE template0`,
        );
      } catch (err) {
        if (!isDuplicate(err)) throw err;
      }
    }
    await c.query(
      `GRANT CONNECT, TEMPORARY ON DATABASE ${c.escapeIdentifier(o.database)} TO ${c.escapeIdentifier(o.appRole)}`,
    );
  } finally {
    await c.end();
  }
  const u = new URL(o.adminUrl);
  const host = o.host ?? u.hostname;
  const port = o.port ?? Number(u.port || 5432);
  return {
    appUrl: pgUrl({ user: o.appRole, password: o.appPassword, host, port, database: o.database }),
    ownerUrl: pgUrl({
      user: o.ownerRole,
      password: o.ownerPassword,
      host,
      port,
      database: o.database,
    }),
  };
}

/** Drops a database (terminating its sessions). Used by test teardown. */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
