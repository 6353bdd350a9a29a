// The module boundaries of the application (apps/api/src), as a lint rule:
//  1. a file uses another module (a top-level folder) only through that module's index.ts
//     (common/ is shared by every module and is used directly);
//  2. no cycles between folders: if a module imports another, nothing the other imports
//     leads back to it.
// The folder graph for (2) is read from the source tree once per lint run.
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../apps/api/src');
const SHARED = 'common';
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The module (top-level folder) of an absolute path inside SRC; '' for the root files; null outside. */
function moduleOf(abs) {
  const rel = path.relative(SRC, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const parts = rel.split(path.sep);
  if (parts.length > 1) return parts[0];
  return fs.existsSync(abs) && fs.statSync(abs).isDirectory() ? parts[0] : '';
}

function targetOf(fromFile, specifier) {
  return path.resolve(path.dirname(fromFile), specifier).replace(/\.(js|ts)$/, '');
}

function* sourceFiles(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts')) yield p;
  }
}

let graph;
/** module → the modules its (non-test) files import. */
function folderGraph() {
  if (graph) return graph;
  graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const from = moduleOf(file);
    if (!from) continue;
    for (const m of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const to = moduleOf(targetOf(file, m[1]));
      if (!to || to === from || to === SHARED) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from).add(to);
    }
  }
  return graph;
}

/** A path from `start` to `goal` in the folder graph, or null. */
function pathBetween(start, goal) {
  const g = folderGraph();
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift();
    if (at === goal) {
      const route = [];
      for (let n = at; n !== null; n = previous.get(n)) route.unshift(n);
      return route;
    }
    for (const next of g.get(at) ?? []) {
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return null;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'modules import each other only through index.ts, without folder cycles' },
    schema: [],
    messages: {
      deep: "'{{module}}' is another module: import it through its index.ts ('{{index}}'), exporting what you need there.",
      cycle:
        'folder cycle: {{cycle}}. Move what both need into a module below them, or invert the dependency.',
    },
  },
  create(context) {
    const file = context.filename;
    const from = moduleOf(file);
    if (from === null) return {};
    const check = (node) => {
      if (!node.source || typeof node.source.value !== 'string') return;
      const specifier = node.source.value;
      if (!specifier.startsWith('.')) return;
      const target = targetOf(file, specifier);
      const to = moduleOf(target);
      if (!to || to === from || to === SHARED) return;
      const root = path.join(SRC, to);
      if (target !== root && target !== path.join(root, 'index')) {
        const rel = path.relative(path.dirname(file), root);
        context.report({
          node: node.source,
          messageId: 'deep',
          data: { module: to, index: rel.startsWith('.') ? rel : `./${rel}` },
        });
      }
      if (from === '') return; // the composition root (main.ts, app.module.ts, …) is in no cycle
      const back = pathBetween(to, from);
      if (back) {
        context.report({
          node: node.source,
          messageId: 'cycle',
          data: { cycle: [from, ...back].join(' → ') },
        });
      }
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'module-boundaries': rule } };
