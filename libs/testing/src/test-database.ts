import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { EmbeddedPostgres, dropDatabase, provisionDatabase, runMigrations } from '@lhcms/database';
import { Client } from 'pg';

/** Role names and password the test databases use (roles are cluster-wide, shared by concurrent runs). */
export const TEST_OWNER_ROLE = 'lhcms_test_owner';
export const TEST_APP_ROLE = 'lhcms_test_app';
export const TEST_ROLE_PASSWORD = 'lhcms-test-password';

export interface TestCluster {
  /** Superuser URL of the maintenance database. */
  adminUrl: string;
  stop(): Promise<void>;
}

/**
 * The PostgreSQL the tests run on: TEST_DATABASE_URL when set (CI: the
 * machine's server), else an embedded PostgreSQL 17 in a temp folder.
 */
export async function startTestCluster(testDatabaseUrl: string | undefined): Promise<TestCluster> {
  if (testDatabaseUrl) return { adminUrl: testDatabaseUrl, stop: async () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-test-pg-'));
  fs.chmodSync(dir, 0o711);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pg = await EmbeddedPostgres.start({
    dataDir: path.join(dir, 'postgres'),
    port,
    logFile: path.join(dir, 'postgres.log'),
  });
  return {
    adminUrl: pg.url('postgres'),
    stop: async () => {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestDatabase {
  name: string;
  appUrl: string;
  ownerUrl: string;
  drop(): Promise<void>;
}

/** A fresh database with the two LHCMS roles; the caller runs the migrations. */
export async function createTestDatabase(
  adminUrl: string,
  prefix = 'lhcms_test',
): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const db = await provisionDatabase({
    adminUrl,
    database: name,
    ownerRole: TEST_OWNER_ROLE,
    ownerPassword: TEST_ROLE_PASSWORD,
    appRole: TEST_APP_ROLE,
    appPassword: TEST_ROLE_PASSWORD,
  });
  return { name, ...db, drop: () => dropDatabase(adminUrl, name) };
}

/**
 * A migrated database of the suite's own, on the run's server, with the
 * database variables for startStack (`env`). For suites whose apps run the
 * outbox dispatcher: a dispatcher works across labs, so on the run's shared
 * database it would hand over (to its own sinks, or mark as dispatched) the
 * events other suites are looking at.
 */
export type OwnTestDatabase = TestDatabase & {
  env: { DATABASE_URL: string; DATABASE_OWNER_URL: string };
};

export async function ownTestDatabase(prefix: string): Promise<OwnTestDatabase> {
  const adminUrl = process.env.LHCMS_TEST_ADMIN_URL;
  if (!adminUrl)
    throw new Error('LHCMS_TEST_ADMIN_URL is not set: run the tests through `npm test`');
  const db = await createTestDatabase(adminUrl, prefix);
  const env = { DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl };
  try {
    await runMigrations(loadEnv({ NODE_ENV: 'test', ...env }));
  } catch (err) {
    await db.drop().catch(() => undefined);
    throw err;
  }
  return { ...db, env };
}

/** Major version of the `pg_dump` on PATH (the one the ops scripts run), or undefined without one. */
export function pgDumpMajor(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const r = spawnSync('pg_dump', ['--version'], { env, encoding: 'utf8' });
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(r.stdout ?? '');
  return r.status === 0 && m ? Number(m[1]) : undefined;
}

async function serverMajor(adminUrl: string): Promise<number> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    return Math.floor(Number(r.rows[0].v) / 10000);
  } finally {
    await c.end();
  }
}

/**
 * A PostgreSQL the machine's `pg_dump` can dump, for the backup and restore
 * tests: the run's own server when pg_dump's major version is not older than
 * it (CI: TEST_DATABASE_URL is the machine's server), else a throwaway cluster
 * started from the machine's server binaries of pg_dump's version
 * (/usr/lib/postgresql/<major>/bin, as Debian and Ubuntu install them). pg_dump
 * refuses a newer server, and the embedded PostgreSQL 17 ships no pg_dump.
 * Throws, saying what to install, when neither is possible: never a skip.
 */
export async function startClusterForPgDump(
  adminUrl: string,
): Promise<TestCluster & { description: string }> {
  const dump = pgDumpMajor();
  if (dump === undefined) {
    throw new Error(
      'pg_dump is not installed: the backup scripts need the PostgreSQL client programs (Debian/Ubuntu: apt-get install postgresql-client)',
    );
  }
  const server = await serverMajor(adminUrl);
  if (dump >= server) {
    return {
      adminUrl,
      stop: async () => undefined,
      description: `the run's PostgreSQL ${server} (pg_dump ${dump})`,
    };
  }
  const bin = path.join(PG_LIB_DIR, String(dump), 'bin');
  const binaries = { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
  if (!fs.existsSync(binaries.initdb) || !fs.existsSync(binaries.postgres)) {
    throw new Error(
      `pg_dump ${dump} cannot dump the tests' PostgreSQL ${server} (pg_dump refuses a newer server), ` +
        `and there is no PostgreSQL ${dump} server in ${bin} to run the backup tests on. Install ` +
        `postgresql-client-${server} (a pg_dump ${server}), or postgresql-${dump}, or set ` +
        `TEST_DATABASE_URL to a PostgreSQL ${dump} server`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-test-pg-dump-'));
  fs.chmodSync(dir, 0o711);
  try {
    const pg = await EmbeddedPostgres.start({
      dataDir: path.join(dir, 'postgres'),
      port: 20000 + Math.floor(Math.random() * 20000),
      logFile: path.join(dir, 'postgres.log'),
      binaries,
    });
    return {
      adminUrl: pg.url('postgres'),
      stop: async () => {
        await pg.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      },
      description: `a throwaway PostgreSQL ${dump} from ${bin} (pg_dump ${dump} cannot dump the run's PostgreSQL ${server})`,
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Where Debian and Ubuntu install each PostgreSQL major's programs. */
const PG_LIB_DIR = '/usr/lib/postgresql';
