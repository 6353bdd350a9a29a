import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import { createTestDatabase, startTestCluster } from '@lhcms/testing';

/**
 * One fresh database per test run, built by the real migrations as the owner
 * role. Test files get its URLs through the environment (workers inherit it).
 */
export default async function globalSetup(): Promise<void> {
  const cluster = await startTestCluster(process.env.TEST_DATABASE_URL);
  const db = await createTestDatabase(cluster.adminUrl);
  await runMigrations(
    loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
  );
  process.env.LHCMS_TEST_ADMIN_URL = cluster.adminUrl;
  process.env.LHCMS_TEST_DATABASE_URL = db.appUrl;
  process.env.LHCMS_TEST_OWNER_URL = db.ownerUrl;
  const checkpoints = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-test-checkpoints-'));
  process.env.LHCMS_TEST_CHECKPOINT_DIR = checkpoints;
  (globalThis as Record<string, unknown>).__lhcmsTest = { cluster, db, checkpoints };
  process.stdout.write(
    `\n[test] database ${db.name} on ${process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'an embedded PostgreSQL 17'}\n`,
  );
  // Jest lists a wholly skipped file only as a count: say here which one and why.
  if (!process.env.TEST_REDIS_URL) {
    process.stdout.write(
      '[test] TEST_REDIS_URL is not set: the cache runs in memory, and the Redis fault suite (test/faults/redis-faults.e2e-spec.ts) is skipped\n',
    );
  }
}
