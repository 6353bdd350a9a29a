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

/** @type {import('jest').Config} */
module.exports = {
  verbose: true,
  // A global option (not per project): e2e tests start processes and servers.
  testTimeout: 60_000,
  maxWorkers: 2,
  projects: [
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
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/test/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
