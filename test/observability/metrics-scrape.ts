/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition (enough of it for the tests). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample with exactly these label values (0 when absent). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const hit = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return hit.reduce((n, s) => n + s.value, 0);
}

/** The Accept header Prometheus (v3) sends on a scrape: LHCMS must answer it with a format Prometheus parses. */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/**
 * The target labels a ServiceMonitor target gets from the Prometheus Operator
 * (SCRAPE_TARGET_LABELS of the metric catalogue; `endpoint` is the Service
 * port name, `http` in the chart), with example values.
 */
export const OPERATOR_TARGET = {
  job: 'lhcms',
  instance: '10.0.0.7:8000',
  namespace: 'lhcms',
  service: 'lhcms',
  pod: 'lhcms-7d9f-abcde',
  container: 'lhcms',
  endpoint: 'http',
} as const;

/**
 * The samples as Prometheus stores them after a scrape with
 * `honor_labels: false` (the Operator's default): the target's labels are
 * attached, and a scraped label of the same name survives only renamed to
 * `exported_<name>` — which is how an app label called `endpoint` lost its
 * meaning in every query.
 */
export function asStoredByPrometheus(
  samples: Sample[],
  target: Record<string, string> = OPERATOR_TARGET,
): Sample[] {
  return samples.map((s) => {
    const labels = { ...s.labels };
    for (const [k, v] of Object.entries(target)) {
      if (k in labels) {
        let exported = `exported_${k}`;
        while (exported in labels) exported = `exported_${exported}`;
        labels[exported] = labels[k];
      }
      labels[k] = v;
    }
    return { ...s, labels };
  });
}
