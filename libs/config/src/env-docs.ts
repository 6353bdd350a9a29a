import { Env } from './env';
import { envDeclarations } from './env.decorators';

function defaultOf(name: string): unknown {
  return (new Env() as unknown as Record<string, unknown>)[name];
}

/** A configuration value as it would be written in the environment. */
export function envValueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
const show = envValueText;

/** The `.env.example` file, generated from the declarations. */
export function renderEnvExample(): string {
  const lines = [
    '# LHCMS configuration. Generated from libs/config/src/env.ts by `npm run config:docs`; do not edit by hand.',
    '# Every variable is optional outside production; unset ones take the default shown.',
    '',
  ];
  let group = '';
  for (const d of envDeclarations()) {
    if (d.group !== group) {
      group = d.group;
      lines.push(`# ---- ${group} ----`);
    }
    const note = d.notActedOn ? ` [not acted on: ${d.notActedOn}]` : '';
    lines.push(`# ${d.description}${d.secret ? ' (secret)' : ''}${note}`);
    const def = show(defaultOf(d.name));
    const value = def !== '' ? def : (d.example ?? '');
    lines.push(`${def !== '' ? '' : '# '}${d.name}=${value}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The configuration table of GENERATED_TABLES_DOC (markdown), generated from the declarations. */
export function renderEnvTable(): string {
  const rows = ['| variable | default | secret | meaning |', '|---|---|---|---|'];
  for (const d of envDeclarations()) {
    const def = show(defaultOf(d.name));
    const note = d.notActedOn ? ` **Not acted on:** ${d.notActedOn}` : '';
    rows.push(
      `| \`${d.name}\` | ${def === '' ? '—' : `\`${def}\``} | ${d.secret ? 'yes' : 'no'} | ${d.description.replace(/\|/g, '\\|')}${note} |`,
    );
  }
  return rows.join('\n');
}

/**
 * The document that holds the generated tables (the configuration table here,
 * the metrics table of apps/api/src/metrics/metric-docs.ts), between their
 * markers; relative to the repository root. `npm run config:docs` rewrites
 * them, and a test per table fails when the file and the declarations drift.
 */
export const GENERATED_TABLES_DOC = 'docs/operations.md';
export const ENV_TABLE_BEGIN = '<!-- env-table:begin -->';
export const ENV_TABLE_END = '<!-- env-table:end -->';
