// Regenerates .env.example and the README's configuration table from libs/config/src/env.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const cfg = require('../dist/libs/config/src/index.js');

writeFileSync('.env.example', cfg.renderEnvExample());
const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf(cfg.README_ENV_BEGIN);
const end = readme.indexOf(cfg.README_ENV_END);
if (start < 0 || end < 0) throw new Error('README.md has no env-table markers');
writeFileSync(
  'README.md',
  `${readme.slice(0, start + cfg.README_ENV_BEGIN.length)}\n${cfg.renderEnvTable()}\n${readme.slice(end)}`,
);
console.log('wrote .env.example and the README configuration table');
