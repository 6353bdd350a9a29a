import * as fs from 'node:fs';
import * as path from 'node:path';
import { GENERATED_TABLES_DOC } from '@lhcms/config';
import { METRICS } from './metric-catalogue';
import { METRICS_TABLE_BEGIN, METRICS_TABLE_END, renderMetricsTable } from './metric-docs';

const ROOT = path.resolve(__dirname, '../../../..');

describe(`the metrics table of ${GENERATED_TABLES_DOC}`, () => {
  it('is generated from the metric catalogue (npm run config:docs)', () => {
    const doc = fs.readFileSync(path.join(ROOT, GENERATED_TABLES_DOC), 'utf8');
    const start = doc.indexOf(METRICS_TABLE_BEGIN);
    const end = doc.indexOf(METRICS_TABLE_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start + METRICS_TABLE_BEGIN.length, end).trim()).toBe(renderMetricsTable());
  });

  it('lists every catalogue metric once', () => {
    const table = renderMetricsTable();
    for (const m of METRICS) expect(table.split(`| \`${m.name}\` |`)).toHaveLength(2);
  });
});
