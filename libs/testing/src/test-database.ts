import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedPostgres, dropDatabase, provisionDatabase } from '@lhcms/database';

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
