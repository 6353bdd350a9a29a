import { METRICS, type MetricSpec } from './metric-catalogue';

/** Markers of the metrics table in GENERATED_TABLES_DOC (@lhcms/config). */
export const METRICS_TABLE_BEGIN = '<!-- metrics-table:begin -->';
export const METRICS_TABLE_END = '<!-- metrics-table:end -->';

/** The metrics table (markdown), generated from the catalogue (`npm run config:docs`). */
export function renderMetricsTable(): string {
  const rows = ['| metric | type | labels | meaning |', '|---|---|---|---|'];
  for (const m of METRICS as readonly MetricSpec[]) {
    const labels = m.labels.length
      ? m.labels
          .map((l) => {
            const values = m.values?.[l];
            return values ? `\`${l}\` (${values.join(', ')})` : `\`${l}\``;
          })
          .join(', ')
      : '—';
    const buckets = m.buckets ? ` Buckets (s): ${m.buckets.join(', ')}.` : '';
    rows.push(
      `| \`${m.name}\` | ${m.type} | ${labels} | ${m.help.replace(/\|/g, '\\|')}${buckets} |`,
    );
  }
  return rows.join('\n');
}
