import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  EXTERNAL_METRIC_PREFIXES,
  METRICS,
  type MetricSpec,
  SCRAPE_TARGET_LABELS,
  SLO_EXCLUDED_5XX,
} from '../apps/api/src/metrics/metric-catalogue';
import { describeWithTool, promtool, run } from '../test/deploy/tools';
import { brokenLink } from '../test/support/markdown-links';

/**
 * Dashboards (ops/grafana/*.json) and Prometheus rules (ops/prometheus/*.yaml)
 * may only query metrics that exist: the app's catalogue, histogram series of
 * its histograms, the external families (Node default metrics, kube-state-
 * metrics, cAdvisor, `up`, the backup job's textfile metrics), and series
 * recorded by the rules themselves. promtool checks and unit-tests the rules.
 */
const ROOT = path.resolve(__dirname, '..');
const RULES_DIR = path.join(ROOT, 'ops/prometheus');
const GRAFANA_DIR = path.join(ROOT, 'ops/grafana');

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);

/** Metric names referenced by a PromQL expression (functions, labels, keywords and literals removed). */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ') // label lists
    .replace(/\boffset\s+-?\w+/gi, ' ')
    .replace(/\$\{?\w+\}?/g, ' ') // Grafana variables
    .replace(/(?<![\w:.])\d+(\.\d+)?(e[+-]?\d+)?(?![\w:])/gi, ' '); // numbers
  const names = new Set<string>();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

interface RuleFile {
  groups: Array<{
    name: string;
    rules: Array<{
      record?: string;
      alert?: string;
      expr: string;
      labels?: Record<string, string>;
    }>;
  }>;
}
const ruleFiles = fs
  .readdirSync(RULES_DIR)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
  .map((f) => ({
    file: f,
    rules: parseYaml(fs.readFileSync(path.join(RULES_DIR, f), 'utf8')) as RuleFile,
  }));
const allRules = ruleFiles.flatMap((r) => r.rules.groups.flatMap((g) => g.rules));
const recorded = new Set(allRules.flatMap((r) => (r.record ? [r.record] : [])));

const dashboards = fs
  .readdirSync(GRAFANA_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    json: JSON.parse(fs.readFileSync(path.join(GRAFANA_DIR, f), 'utf8')),
  }));
const panelsOf = (d: any): any[] => (d.panels ?? []).flatMap((p: any) => [p, ...panelsOf(p)]);

const catalogue = new Map<string, string>(METRICS.map((m) => [m.name, m.type]));
function known(name: string): boolean {
  if (catalogue.has(name) || recorded.has(name)) return true;
  const hist = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (hist && catalogue.get(hist[1]) === 'histogram') return true;
  return EXTERNAL_METRIC_PREFIXES.some((p) => (p.endsWith('_') ? name.startsWith(p) : name === p));
}

/** Each `metric{label op "value", ...}` selector of an expression: the metric and the labels it matches on. */
export function selectors(expr: string): Array<{ metric: string; labels: string[]; text: string }> {
  const out: Array<{ metric: string; labels: string[]; text: string }> = [];
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const labels = [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
      (l) => l[1],
    );
    out.push({ metric: m[1], labels, text: m[2] });
  }
  return out;
}

/** The catalogue entry a series name belongs to (histograms: its _bucket/_count/_sum). */
function specOf(name: string): MetricSpec | undefined {
  const specs = METRICS as readonly MetricSpec[];
  const direct = specs.find((m) => m.name === name);
  if (direct) return direct;
  const hist = /^(.*)_(bucket|sum|count)$/.exec(name);
  return hist ? specs.find((m) => m.name === hist[1] && m.type === 'histogram') : undefined;
}

/** Problems of one expression's selectors: labels the app does not export, 5xx selectors that count 501. */
export function selectorProblems(expr: string): string[] {
  const problems: string[] = [];
  for (const sel of selectors(expr)) {
    const spec = specOf(sel.metric);
    if (!spec) continue;
    const allowed = new Set<string>([
      ...spec.labels,
      ...SCRAPE_TARGET_LABELS,
      ...(spec.type === 'histogram' && sel.metric.endsWith('_bucket') ? ['le'] : []),
    ]);
    for (const l of sel.labels) {
      if (!allowed.has(l)) problems.push(`${sel.metric} has no label ${l}`);
      // `endpoint` is the Operator's port name: never what a dashboard or rule about LHCMS means.
      if (l === 'endpoint')
        problems.push(`${sel.metric}{endpoint...} matches the scrape port name`);
    }
    if (/status\s*=~\s*"5\.\."/.test(sel.text)) {
      const exclusion = `status!~"${SLO_EXCLUDED_5XX.join('|')}"`;
      if (!sel.text.replace(/\s+/g, '').includes(exclusion))
        problems.push(`${sel.metric}{${sel.text}} counts ${SLO_EXCLUDED_5XX.join(', ')} as errors`);
    }
  }
  if (/\b(by|without)\s*\([^)]*\bendpoint\b/.test(expr)) problems.push('groups by endpoint');
  return problems;
}

describe('metric-name extraction', () => {
  it('finds metrics and skips functions, labels, keywords, literals and Grafana variables', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, endpoint) (rate(lhcms_request_duration_seconds_bucket{namespace=~"$namespace", le="0.5"}[$__rate_interval]))) > 14.4 * 0.001 and on (job) up offset 5m',
      ).sort(),
    ).toEqual(['lhcms_request_duration_seconds_bucket', 'up']);
    expect(
      metricNames(
        'time() - max by (database) (lhcms_backup_last_success_timestamp_seconds) > 26 * 3600',
      ),
    ).toEqual(['lhcms_backup_last_success_timestamp_seconds']);
    expect(metricNames('lhcms:request_errors:ratio_rate1h > (14.4 * 0.001)')).toEqual([
      'lhcms:request_errors:ratio_rate1h',
    ]);
  });

  it('flags names the app does not export', () => {
    expect(known('lhcms_requests_total')).toBe(true);
    expect(known('lhcms_request_duration_seconds_bucket')).toBe(true);
    expect(known('lhcms_requests_total_bucket')).toBe(false); // a counter has no buckets
    expect(known('lhcms_http_requests_total')).toBe(false);
    expect(known('http_server_requests_total')).toBe(false);
    expect(known('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(known('upstream_latency')).toBe(false);
  });
});

describe('label checks', () => {
  it('flag labels the app does not export, the Operator `endpoint`, and 5xx selectors that count 501', () => {
    expect(selectorProblems('sum by (route) (rate(lhcms_requests_total{route="/x"}[5m]))')).toEqual(
      [],
    );
    expect(selectorProblems('rate(lhcms_requests_total{endpoint!~"/health.*"}[5m])')).toEqual([
      'lhcms_requests_total{endpoint...} matches the scrape port name',
    ]);
    expect(selectorProblems('sum by (method, endpoint) (rate(lhcms_requests_total[5m]))')).toEqual([
      'groups by endpoint',
    ]);
    expect(selectorProblems('rate(lhcms_requests_total{status=~"5.."}[5m])')).toHaveLength(1);
    expect(
      selectorProblems('rate(lhcms_requests_total{status=~"5..", status!~"501"}[5m])'),
    ).toEqual([]);
    expect(
      selectorProblems('rate(lhcms_request_duration_seconds_bucket{le="0.5", namespace="x"}[5m])'),
    ).toEqual([]);
    expect(selectorProblems('rate(lhcms_requests_total{le="0.5"}[5m])')).toEqual([
      'lhcms_requests_total has no label le',
    ]);
    expect(selectorProblems('rate(lhcms_audit_write_failures_total{outcome="x"}[5m])')).toEqual([
      'lhcms_audit_write_failures_total has no label outcome',
    ]);
  });
});

describe('ops/prometheus rules', () => {
  it.each(allRules.map((r) => [r.alert ?? r.record!, r.expr]))(
    '%s uses only exported metrics and labels',
    (_name, expr) => {
      const names = metricNames(expr);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !known(n))).toEqual([]);
      expect(selectorProblems(expr)).toEqual([]);
    },
  );

  it('dependency degradation warns (Redis, UMS) after 5 minutes and never pages', () => {
    for (const name of ['LHCMSRedisDegraded', 'LHCMSUmsDegraded']) {
      const rule = allRules.find((r) => r.alert === name) as (typeof allRules)[number] & {
        for?: string;
      };
      expect(rule).toBeDefined();
      expect(rule.for).toBe('5m');
      expect(rule.labels?.severity).toBe('warning');
      expect(rule.expr).toContain('lhcms_dependency_up');
    }
  });

  it('has the alerts docs/operations.md (Dashboards and alerts) lists, each with a severity and a summary', () => {
    const alerts = allRules.filter((r) => r.alert);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'LHCMSErrorBudgetBurnFast',
        'LHCMSErrorBudgetBurnSlow',
        'LHCMSLatencyBudgetBurnFast',
        'LHCMSLatencyBudgetBurnSlow',
        'LHCMSAuditWriteFailures',
        'LHCMSAuditSealingLag',
        'LHCMSUmsCircuitOpen',
        'LHCMSUmsErrorRatioHigh',
        'LHCMSDbPoolWaiters',
        'LHCMSEventLoopLagHigh',
        'LHCMSPodRestarting',
        'LHCMSBackupStale',
        'LHCMSRedisDegraded',
        'LHCMSUmsDegraded',
        'LHCMSNotReady',
        'LHCMSAttachmentStorageErrors',
        'LHCMSAttachmentIntegrityFailure',
        'LHCMSOutboxLag',
        'LHCMSWebhookDeadLetters',
        'LHCMSWebhookBacklog',
        'LHCMSOutboxStalled',
        'LHCMSReadReplicaOutOfUse',
      ]),
    );
    for (const a of alerts) {
      expect(['page', 'warning']).toContain(a.labels?.severity);
      expect((a as any).annotations?.summary).toBeTruthy();
    }
  });

  it('every alert links a runbook: a section of docs/operations.md that exists', () => {
    const alerts = allRules.filter((r) => r.alert);
    const broken = alerts.flatMap((a) => {
      const runbook = (a as any).annotations?.runbook as string | undefined;
      if (!runbook?.startsWith('docs/operations.md#')) return [`${a.alert}: runbook ${runbook}`];
      const why = brokenLink(ROOT, path.join(ROOT, 'README.md'), runbook);
      return why ? [`${a.alert}: ${runbook}: ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('burn-rate alerts pair a long and a short window at 14.4x (1h/5m) and 6x (6h/30m)', () => {
    const expr = (n: string) => allRules.find((r) => r.alert === n)!.expr.replace(/\s+/g, ' ');
    for (const [slo, budget] of [
      ['Error', '0.001'],
      ['Latency', '0.01'],
    ]) {
      const fast = expr(`LHCMS${slo}BudgetBurnFast`);
      expect(fast).toMatch(new RegExp(`_rate1h > \\(14\\.4 \\* ${budget}\\)`));
      expect(fast).toMatch(new RegExp(`_rate5m > \\(14\\.4 \\* ${budget}\\)`));
      const slow = expr(`LHCMS${slo}BudgetBurnSlow`);
      expect(slow).toMatch(new RegExp(`_rate6h > \\(6 \\* ${budget}\\)`));
      expect(slow).toMatch(new RegExp(`_rate30m > \\(6 \\* ${budget}\\)`));
    }
  });
});

describe('ops/grafana dashboards', () => {
  it('are the LHCMS service, Node runtime and lab operations dashboards, with stable uids and no instance ids', () => {
    const uids = dashboards.map((d) => d.json.uid).sort();
    expect(uids).toEqual(['lhcms-lab-operations', 'lhcms-node-runtime', 'lhcms-service']);
    for (const { json } of dashboards) {
      expect(json.id).toBeNull();
      expect(json.title).toMatch(/^LHCMS/);
      const ids = panelsOf(json).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('group by no lab and no id: lab operations stay bounded whatever the number of labs', () => {
    // Every catalogue label is a closed set or a route template; a `by (lab…)` would need a
    // label the app does not export (selectorProblems) — this checks the grouping lists too.
    const grouped = dashboards.flatMap(({ json }) =>
      panelsOf(json).flatMap((p: any) =>
        (p.targets ?? []).flatMap((t: any) =>
          [...String(t.expr).matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
            m[1].split(',').map((l) => l.trim()),
          ),
        ),
      ),
    );
    expect(grouped.filter((l) => /lab|case|patient|user|doctor/.test(l))).toEqual([]);
    const labels = (METRICS as readonly MetricSpec[]).flatMap((m) => m.labels);
    expect(labels.filter((l) => /lab|case|patient|user|doctor/.test(l))).toEqual([]);
  });

  it.each(dashboards.map((d) => [d.file, d.json]))(
    '%s queries only exported metrics',
    (_file, json) => {
      const exprs = panelsOf(json).flatMap((p: any) =>
        (p.targets ?? []).map((t: any) => t.expr as string),
      );
      expect(exprs.length).toBeGreaterThan(5);
      for (const v of json.templating?.list ?? []) {
        const q = typeof v.query === 'string' ? v.query : v.query?.query;
        const lv = typeof q === 'string' ? /label_values\((\w+),/.exec(q) : null;
        if (lv) exprs.push(lv[1]);
      }
      const unknown = exprs.flatMap((e: string) => metricNames(e).filter((n) => !known(n)));
      expect(unknown).toEqual([]);
      expect(exprs.flatMap(selectorProblems)).toEqual([]);
      // Legends name labels the series have: `{{endpoint}}` would print the scrape port.
      const legends = panelsOf(json).flatMap((p: any) =>
        (p.targets ?? []).map((t: any) => String(t.legendFormat ?? '')),
      );
      expect(legends.filter((l: string) => l.includes('{{endpoint}}'))).toEqual([]);
    },
  );

  it('cover RED by route, cases, audit, UMS, cache, DB pool, rate limiting, case events; and event loop, heap, GC, CPU, restarts', () => {
    const used = (uid: string) =>
      new Set(
        panelsOf(dashboards.find((d) => d.json.uid === uid)!.json)
          .flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr as string))
          .flatMap(metricNames),
      );
    const service = used('lhcms-service');
    for (const m of [
      'lhcms_requests_total',
      'lhcms_request_duration_seconds_bucket',
      'lhcms_case_operations_total',
      'lhcms_audit_write_duration_seconds_bucket',
      'lhcms_audit_write_failures_total',
      'lhcms_audit_sealing_lag_seconds',
      'lhcms_ums_request_duration_seconds_bucket',
      'lhcms_ums_circuit_open',
      'lhcms_cache_requests_total',
      'lhcms_db_pool_connections',
      'lhcms_rate_limit_rejections_total',
      'lhcms_dependency_up',
      'lhcms_rate_limiter_fail_open_total',
      'lhcms_outbox_lag_seconds',
      'lhcms_outbox_undispatched_events',
      'lhcms_event_streams_open',
      'lhcms_event_stream_events_sent_total',
    ])
      expect(service).toContain(m);
    const lab = used('lhcms-lab-operations');
    for (const m of [
      'lhcms_case_operations_total',
      'lhcms_report_requests_total',
      'lhcms_request_duration_seconds_bucket',
    ])
      expect(lab).toContain(m);
    const runtime = used('lhcms-node-runtime');
    for (const m of [
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds_sum',
      'process_cpu_seconds_total',
      'kube_pod_container_status_restarts_total',
    ])
      expect(runtime).toContain(m);
  });
});

describeWithTool(promtool(), 'promtool', (bin) => {
  it('check rules accepts every rules file', () => {
    for (const { file } of ruleFiles) {
      const r = run(bin, ['check', 'rules', path.join(RULES_DIR, file)]);
      expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
      expect(r.status).toBe(0);
    }
  });

  it('the rules unit tests pass (burn-rate, ratios at 0, audit failures, degradation, backups)', () => {
    const r = run(bin, ['test', 'rules', path.join(RULES_DIR, 'lhcms-rules.test.yaml')]);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  /** `promtool test rules` of the test file's `groups` (by name) against mutated rules. */
  const mutated = (mutate: (rules: string) => string, groups: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-rules-'));
    try {
      const source = fs.readFileSync(path.join(RULES_DIR, 'lhcms-rules.yaml'), 'utf8');
      const rules = mutate(source);
      expect(rules).not.toBe(source);
      fs.writeFileSync(path.join(dir, 'lhcms-rules.yaml'), rules);
      fs.copyFileSync(
        path.join(RULES_DIR, 'lhcms-rules.test.yaml'),
        path.join(dir, 'lhcms-rules.test.yaml'),
      );
      return run(bin, [
        'test',
        'rules',
        `--run=^(${groups})$`,
        path.join(dir, 'lhcms-rules.test.yaml'),
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it.each([
    [
      'a burn-rate threshold raised above the test traffic stops the page',
      (r: string) => r.replace(/_rate1h > \(14\.4 \* 0\.001\)/, '_rate1h > (14.4 * 0.01)'),
      'burn-fast',
      /LHCMSErrorBudgetBurnFast/,
    ],
    [
      'error ratios without the zero fallback read "no data"',
      (r: string) => r.replace(/\n\s*or sum by \(namespace, job\) \(rate\([^\n]*\* 0/g, ''),
      'ratios-read-zero',
      /lhcms:request_errors:ratio_rate5m/,
    ],
    [
      '501 counted as an error burns the budget',
      (r: string) => r.replaceAll(', status!~"501"', ''),
      'ratios-read-zero',
      /lhcms:request_errors:ratio_rate/,
    ],
    [
      'the audit alert on increase() alone misses a new pod first seen at 1',
      (r: string) =>
        r.replace(
          /\n\s*or sum by \(namespace, mode\) \(lhcms_audit_write_failures_total unless[^\n]*/,
          '',
        ),
      'audit-first-failure|audit-new-pod',
      /LHCMSAuditWriteFailures/,
    ],
  ])('the unit tests can fail: %s', (_what, mutate, groups, failing) => {
    const r = mutated(mutate, groups);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(failing);
  });
});
