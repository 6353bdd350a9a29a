// Regenerates .env.example from libs/config/src/env.ts, and the configuration and metrics tables
// (apps/api/src/metrics/metric-catalogue.ts) of the document GENERATED_TABLES_DOC names.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const cfg = require('../dist/libs/config/src/index.js');
const metrics = require('../dist/apps/api/src/metrics/metric-docs.js');

const doc = cfg.GENERATED_TABLES_DOC;

function replaceBetween(text, begin, end, body) {
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`${doc} has no ${begin} … ${end} markers`);
  return `${text.slice(0, start + begin.length)}\n${body}\n${text.slice(stop)}`;
}

writeFileSync('.env.example', cfg.renderEnvExample());
let text = readFileSync(doc, 'utf8');
text = replaceBetween(text, cfg.ENV_TABLE_BEGIN, cfg.ENV_TABLE_END, cfg.renderEnvTable());
text = replaceBetween(
  text,
  metrics.METRICS_TABLE_BEGIN,
  metrics.METRICS_TABLE_END,
  metrics.renderMetricsTable(),
);
writeFileSync(doc, text);
console.log(`wrote .env.example and the configuration and metrics tables of ${doc}`);
