import { type Env, loadEnv, type RawEnv } from '@lhcms/config';

export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef';
export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdef0123456789';
/** The local key-encryption key of the tests (32 bytes, base64). */
export const TEST_LOCAL_KEK = Buffer.alloc(32, 0x5a).toString('base64');

const RUN_PREFIX = `lhcms-test-${process.pid}-${Date.now().toString(36)}`;

function required(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: run integration tests through \`npm test\` (global setup)`,
    );
  return v;
}

/** URLs of the run's test database, set by test/setup/global-setup.ts. */
export function testDatabaseUrls(): { adminUrl: string; appUrl: string; ownerUrl: string } {
  return {
    adminUrl: required('LHCMS_TEST_ADMIN_URL'),
    appUrl: required('LHCMS_TEST_DATABASE_URL'),
    ownerUrl: required('LHCMS_TEST_OWNER_URL'),
  };
}

/** A validated test configuration on the run's database; `overrides` win. */
export function testEnv(overrides: RawEnv = {}): Env {
  const db = testDatabaseUrls();
  return loadEnv({
    NODE_ENV: 'test',
    DATABASE_URL: db.appUrl,
    DATABASE_OWNER_URL: db.ownerUrl,
    SECRET_KEY: TEST_SECRET_KEY,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
    LOG_LEVEL: 'silent',
    DB_POOL_SIZE: '5',
    DB_MAX_OVERFLOW: '5',
    DB_MIGRATE_ON_START: 'false',
    REDIS_URL: process.env.TEST_REDIS_URL,
    // Runs on this machine share one Redis: keep their keys apart, and the
    // per-user limit out of the way (the rate-limit tests set their own).
    REDIS_KEY_PREFIX: RUN_PREFIX,
    RATE_LIMIT_PER_MINUTE: '100000',
    // The audit stream is captured by the tests that look at it; checkpoints go to the run's temp folder.
    AUDIT_LOG_DESTINATION: '/dev/null',
    AUDIT_CHECKPOINT_DIR: process.env.LHCMS_TEST_CHECKPOINT_DIR,
    // Suites share the run's database: a dispatcher in every test app would
    // hand over (and fan out) other suites' events behind their backs. The
    // event suites switch it on.
    EVENTS_DISPATCHER: 'off',
    ...overrides,
  });
}
