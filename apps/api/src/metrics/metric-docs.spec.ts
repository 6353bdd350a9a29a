import * as fs from 'node:fs';
import * as path from 'node:path';
import { METRICS } from './metric-catalogue';
import { README_METRICS_BEGIN, README_METRICS_END, renderMetricsTable } from './metric-docs';

const ROOT = path.resolve(__dirname, '../../../..');

describe("the README's metrics table", () => {
  it('is generated from the metric catalogue (npm run config:docs)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(README_METRICS_BEGIN);
    const end = readme.indexOf(README_METRICS_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(readme.slice(start + README_METRICS_BEGIN.length, end).trim()).toBe(
      renderMetricsTable(),
    );
  });

  it('lists every catalogue metric once', () => {
    const table = renderMetricsTable();
    for (const m of METRICS) expect(table.split(`| \`${m.name}\` |`)).toHaveLength(2);
  });
});
