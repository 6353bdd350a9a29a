// Jest 30 + @swc/jest. Run through `npm test` (node --experimental-vm-modules):
// NestJS 12 packages are ESM-only and Jest loads them natively on Node >= 24.9.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      // Path aliases rewritten at transform time, so that Jest's global setup
      // (loaded by Node's own require) resolves them too.
      baseUrl: __dirname,
      paths: {
        '@lhcms/ums-dev': ['./apps/ums-dev/src/index.ts'],
        '@lhcms/*': ['./libs/*/src/index.ts'],
      },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const common = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@lhcms/ums-dev$': '<rootDir>/apps/ums-dev/src/index.ts',
    '^@lhcms/(.*)$': '<rootDir>/libs/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // kubernetes-models (chart validation) is ESM-only with `import`-only export maps.
  resolver: '<rootDir>/test/setup/esm-only-resolver.cjs',
};

// The tiers (docs/testing.md). A test's tier is where it lives and how it is named:
//   unit     *.spec.ts beside the code: pure, no I/O.
//   service  test/service/**/*.service-spec.ts and test/**/*.int-spec.ts: Nest modules or SQL on
//            the real PostgreSQL, no HTTP server.
//   e2e      test/**/*.e2e-spec.ts: the API over HTTP with ums-dev (faults tier: test/faults).
//   deploy   everything under test/deploy, test/ops and test/bench: the build, Helm, Docker image,
//            backup/restore, nginx, benchmark smoke runs.
//   topology test/topology: the scale-out parts run for real — a PostgreSQL primary with a streaming
//            standby, a Redis Cluster, two API processes behind nginx. Heavy and timing-sensitive:
//            `npm test` runs this tier on its own after the others (scripts/test.mjs).
const DEPLOY_DIRS = ['deploy', 'ops', 'bench'];
const deployOnly = [...DEPLOY_DIRS, 'topology'].map((d) => `<rootDir>/test/${d}/`);

/** The tiers that need a database: one fresh one per run (global setup runs once for all). */
const withDatabase = {
  ...common,
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
};

const TIERS = [
  {
    ...common,
    displayName: 'unit',
    testMatch: [
      '<rootDir>/apps/**/*.spec.ts',
      '<rootDir>/libs/**/*.spec.ts',
      '<rootDir>/migrations/**/*.spec.ts',
      '<rootDir>/ops/**/*.spec.ts',
    ],
  },
  {
    ...withDatabase,
    displayName: 'service',
    testMatch: ['<rootDir>/test/**/*.service-spec.ts', '<rootDir>/test/**/*.int-spec.ts'],
    testPathIgnorePatterns: ['/node_modules/', ...deployOnly],
  },
  {
    ...withDatabase,
    displayName: 'e2e',
    testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
    testPathIgnorePatterns: ['/node_modules/', ...deployOnly],
  },
  {
    ...withDatabase,
    displayName: 'deploy',
    testMatch: DEPLOY_DIRS.map((d) => `<rootDir>/test/${d}/**/*-spec.ts`),
  },
  {
    ...withDatabase,
    displayName: 'topology',
    testMatch: ['<rootDir>/test/topology/**/*-spec.ts'],
  },
];

/**
 * LHCMS_TEST_TIERS=e2e (or service,e2e) runs those tiers only: what `npm run test:<tier>` sets.
 * (An environment variable rather than `--selectProjects`, which would take the test paths
 * given after it, as in `npm run test:e2e -- test/cases`, for more project names.)
 */
function selectedTiers() {
  const names = (process.env.LHCMS_TEST_TIERS ?? '').split(',').filter(Boolean);
  if (names.length === 0) return TIERS;
  const unknown = names.filter((n) => !TIERS.some((t) => t.displayName === n));
  if (unknown.length > 0)
    throw new Error(
      `LHCMS_TEST_TIERS: no tier ${unknown.join(', ')} (tiers: ${TIERS.map((t) => t.displayName).join(', ')})`,
    );
  return TIERS.filter((t) => names.includes(t.displayName));
}

/** @type {import('jest').Config} */
module.exports = {
  verbose: true,
  // A global option (not per project): e2e tests start processes and servers.
  testTimeout: 60_000,
  maxWorkers: 2,
  projects: selectedTiers(),
};
