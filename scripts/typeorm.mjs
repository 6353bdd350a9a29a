// `npm run migration:*`: the TypeORM CLI on the compiled DataSource
// (dist/libs/database/src/data-source.js), against DATABASE_OWNER_URL /
// DATABASE_URL, or against the embedded PostgreSQL (started for the duration
// of the command) when no DATABASE_URL is set, exactly as `npm start` would.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [command, ...rest] = process.argv.slice(2);
if (!command) {
  console.error(
    'usage: node scripts/typeorm.mjs <migration:run|migration:revert|migration:show|migration:generate|migration:create> [args]',
  );
  process.exit(2);
}
if (existsSync('.env')) process.loadEnvFile('.env');
const cli = require.resolve('typeorm/cli.js');

if (command === 'migration:generate') {
  // There is no entity model to diff against (the data source loads none).
  console.error(
    'LHCMS migrations are written by hand: npm run migration:create -- migrations/<Name>, then add the class to migrations/index.ts (docs/case-columns.md: adding a column to cases).',
  );
  process.exit(2);
}

if (command === 'migration:create') {
  // Needs no database.
  const r = spawnSync(process.execPath, [cli, command, ...rest], { stdio: 'inherit' });
  console.log('Remember to add the new class to migrations/index.ts.');
  process.exit(r.status ?? 1);
}

require('reflect-metadata');
const { loadEnv } = require('../dist/libs/config/src/index.js');
let env = loadEnv();
let dev;
if (!env.DATABASE_URL) {
  const { startDevRuntime } = require('../dist/apps/api/src/dev-runtime/dev-runtime.js');
  // Only the database is needed: pretend a UMS is configured so none is started.
  dev = await startDevRuntime(
    loadEnv({ ...process.env, UMS_BASE_URL: 'http://127.0.0.1:1' }),
    (m) => console.log(`[lhcms] ${m}`),
  );
  env = loadEnv({ ...process.env, ...dev.overrides });
}
const childEnv = {
  ...process.env,
  DATABASE_URL: env.DATABASE_URL,
  DATABASE_OWNER_URL: env.ownerDatabaseUrl,
};
const args = [cli, command, '-d', 'dist/libs/database/src/data-source.js', ...rest];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: childEnv });
await dev?.stop();
process.exit(r.status ?? 1);
