// Regenerates .env.example and the README's configuration table from libs/config/src/env.ts,
// and the README's metrics table from apps/api/src/metrics/metric-catalogue.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const cfg = require('../dist/libs/config/src/index.js');
const metrics = require('../dist/apps/api/src/metrics/metric-docs.js');

function replaceBetween(text, begin, end, body) {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < 0) throw new Error(`README.md has no ${begin} … ${end} markers`);
  return `${text.slice(0, start + begin.length)}\n${body}\n${text.slice(stop)}`;
}

writeFileSync('.env.example', cfg.renderEnvExample());
let readme = readFileSync('README.md', 'utf8');
readme = replaceBetween(readme, cfg.README_ENV_BEGIN, cfg.README_ENV_END, cfg.renderEnvTable());
readme = replaceBetween(
  readme,
  metrics.README_METRICS_BEGIN,
  metrics.README_METRICS_END,
  metrics.renderMetricsTable(),
);
writeFileSync('README.md', readme);
console.log('wrote .env.example and the README configuration and metrics tables');
