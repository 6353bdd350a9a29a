// Copies non-TypeScript assets (JSON seeds, reference data) next to the compiled code.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['apps', 'libs'];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.json')) cpSync(p, join('dist', p));
  }
}
for (const r of roots) if (existsSync(r)) walk(r);
