// `npm run build`: compiles once, then only what changed.
//
//   1. `tsc --build tsconfig.build.json`: an up-to-date check against dist/.tsbuildinfo
//      (about 0.2 s when nothing changed), else an incremental compile of the changed files.
//      A fresh `npm ci` (node_modules/.package-lock.json newer than the build info) forces a
//      full compile: decorator metadata depends on the installed packages' types.
//   2. tsc-alias rewrites the `@lhcms/*` imports of the compiled files, only when tsc wrote
//      something since the last rewrite (dist/.alias-stamp).
//   3. Outputs whose source is gone are deleted (a deleted migration or entity must not stay
//      loadable from dist/ through a glob), and JSON assets are copied when newer.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyAssets, pruneStaleOutputs } from './build-outputs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = join(root, 'dist');
const buildInfo = join(dist, '.tsbuildinfo');
const aliasStamp = join(dist, '.alias-stamp');

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

function run(bin, args) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
const force = installed > mtime(buildInfo);
run(require.resolve('typescript/bin/tsc'), [
  '--build',
  'tsconfig.build.json',
  ...(force ? ['--force'] : []),
]);

if (mtime(buildInfo) > mtime(aliasStamp)) {
  run(require.resolve('tsc-alias/dist/bin/index.js'), ['-p', 'tsconfig.build.json']);
  mkdirSync(dist, { recursive: true });
  writeFileSync(aliasStamp, '');
  // The stamp is as new as the build info it covers (not newer: a build info written in the
  // same millisecond must not be mistaken for an already rewritten one).
  const t = new Date(mtime(buildInfo));
  utimesSync(aliasStamp, t, t);
}

pruneStaleOutputs(root);
copyAssets(root);
