/**
 * Every metric LHCMS exports, declared once: the metrics module registers
 * exactly these, the README's Operations table lists them, and the Grafana
 * dashboards and Prometheus rules (ops/) may only use these names (plus the
 * prom-client default Node metrics and Kubernetes/exporter metrics) — a test
 * checks each PromQL expression against this list.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  name: string;
  type: MetricType;
  labels: readonly string[];
  help: string;
  /** Histogram buckets in seconds (include the SLO thresholds). */
  buckets?: readonly number[];
}

/** Latency buckets: the SLO thresholds (100 ms, 250 ms, 500 ms, 1 s) are among them. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const METRICS = [
  {
    name: 'lhcms_requests_total',
    type: 'counter',
    labels: ['method', 'endpoint', 'status'],
    help: 'HTTP requests by method, route template (`unmatched` for unknown routes) and status code.',
  },
  {
    name: 'lhcms_request_duration_seconds',
    type: 'histogram',
    labels: ['method', 'endpoint'],
    help: 'HTTP request duration by method and route template.',
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'lhcms_case_operations_total',
    type: 'counter',
    labels: ['operation', 'status'],
    help: 'Case operations (create, read, list, update, status_change, delete, ...) by outcome (success, client_error, error).',
  },
  {
    name: 'lhcms_db_pool_connections',
    type: 'gauge',
    labels: ['pool', 'state'],
    help: 'Database pool connections by pool (primary, replica) and state (total, idle, waiting).',
  },
  {
    name: 'lhcms_ums_request_duration_seconds',
    type: 'histogram',
    labels: ['operation', 'outcome'],
    help: 'UMS calls by operation (me, labs, health) and outcome (ok, unauthorized, error, timeout, circuit_open).',
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'lhcms_ums_circuit_open',
    type: 'gauge',
    labels: [],
    help: '1 while the UMS circuit breaker is open.',
  },
  {
    name: 'lhcms_cache_requests_total',
    type: 'counter',
    labels: ['cache', 'result'],
    help: 'Cache lookups by cache (principal, ...) and result (hit, miss).',
  },
  {
    name: 'lhcms_rate_limit_rejections_total',
    type: 'counter',
    labels: [],
    help: 'Requests rejected with 429 by the rate limiter.',
  },
  {
    name: 'lhcms_audit_write_duration_seconds',
    type: 'histogram',
    labels: ['mode'],
    help: 'Audit write latency by mode (transactional, batch).',
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'lhcms_audit_write_failures_total',
    type: 'counter',
    labels: ['mode'],
    help: 'Audit writes that failed (the request was refused or rolled back).',
  },
  {
    name: 'lhcms_audit_sealing_lag_seconds',
    type: 'gauge',
    labels: [],
    help: 'Age of the oldest audit event not yet linked into the hash chain (0 when all are sealed).',
  },
  {
    name: 'lhcms_audit_unsealed_events',
    type: 'gauge',
    labels: [],
    help: 'Audit events not yet linked into the hash chain.',
  },
] as const satisfies readonly MetricSpec[];

export type MetricName = (typeof METRICS)[number]['name'];

/**
 * Metrics that are not exported by the app but may appear in dashboards and
 * alerts: prom-client's default Node metrics, Kubernetes (kube-state-metrics,
 * cAdvisor), Prometheus itself, and the backup job's textfile metric.
 */
export const EXTERNAL_METRIC_PREFIXES = [
  'nodejs_',
  'process_',
  'kube_',
  'container_',
  'up',
  'lhcms_backup_',
] as const;
