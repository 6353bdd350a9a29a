// What `npm run build` (scripts/build.mjs) does to dist/ besides compiling:
// copy the JSON assets (seeds, reference data) next to the compiled code when
// they are newer, and delete compiled outputs whose source is gone.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Folders whose JSON files are runtime assets. */
const ASSET_ROOTS = ['apps', 'libs'];
/** Folders tsconfig.build.json compiles into dist/. */
const COMPILED_ROOTS = ['apps', 'libs', 'migrations', 'ops'];

function* files(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* files(p);
    } else yield p;
  }
}

/** Copies each `*.json` under apps/ and libs/ to dist/ unless the copy is as new. */
export function copyAssets(root) {
  for (const r of ASSET_ROOTS)
    for (const src of files(join(root, r))) {
      if (!src.endsWith('.json')) continue;
      const dest = join(root, 'dist', relative(root, src));
      if (existsSync(dest) && statSync(dest).mtimeMs >= statSync(src).mtimeMs) continue;
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(src, dest);
    }
}

/** The source a dist/ file was made from: `x.js` and `x.js.map` from `x.ts`, `x.json` from `x.json`. */
function sourceOf(root, out) {
  const rel = relative(join(root, 'dist'), out);
  if (rel.endsWith('.js.map')) return join(root, rel.slice(0, -'.js.map'.length) + '.ts');
  if (rel.endsWith('.js')) return join(root, rel.slice(0, -'.js'.length) + '.ts');
  if (rel.endsWith('.json')) return join(root, rel);
  return undefined;
}

/** Deletes dist/ outputs whose source file no longer exists, and the folders this empties. */
export function pruneStaleOutputs(root) {
  for (const r of COMPILED_ROOTS) {
    const top = join(root, 'dist', r);
    for (const out of files(top)) {
      const src = sourceOf(root, out);
      if (src && !existsSync(src)) rmSync(out);
    }
    removeEmptyFolders(top);
  }
}

function removeEmptyFolders(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) removeEmptyFolders(join(dir, entry.name));
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}
