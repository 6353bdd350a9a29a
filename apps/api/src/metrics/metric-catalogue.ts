/**
 * Every metric LHCMS exports, declared once: the metrics module registers
 * exactly these, docs/operations.md lists them, and the Grafana
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
  /**
   * The closed set of values of a label, where there is one. A counter or
   * histogram whose labels all have one is exported at 0 for every
   * combination from process start (MetricsService), so that `increase()`
   * and `rate()` see the first event and ratios read 0, not "No data".
   */
  values?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Labels the Prometheus Operator puts on every series of a ServiceMonitor
 * target (`endpoint` is the Service port name). With `honorLabels: false`
 * (the Operator's default, and the chart's) a metric label of the same name
 * would be renamed `exported_<name>` and lose its meaning in every query,
 * so no catalogue label may use one of these (a unit test checks).
 */
export const SCRAPE_TARGET_LABELS = [
  'job',
  'instance',
  'namespace',
  'service',
  'pod',
  'container',
  'endpoint',
] as const;

/**
 * The error SLO counts `lhcms_requests_total` responses with a 5xx status
 * except these: 501 is an optional integration this deployment does not
 * configure (LinksHub Core), a fact about the deployment, not a failure of
 * the service. Every rule and dashboard query of 5xx ratios excludes them
 * (ops/monitoring.spec.ts checks).
 */
export const SLO_EXCLUDED_5XX = ['501'] as const;

/** Latency buckets: the SLO thresholds (100 ms, 250 ms, 500 ms, 1 s) are among them. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const METRICS = [
  {
    name: 'lhcms_requests_total',
    type: 'counter',
    labels: ['method', 'route', 'status'],
    help: 'HTTP requests by method, route template (`unmatched` for unknown routes) and status code.',
  },
  {
    name: 'lhcms_request_duration_seconds',
    type: 'histogram',
    labels: ['method', 'route'],
    help: 'HTTP request duration by method and route template.',
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'lhcms_case_operations_total',
    type: 'counter',
    labels: ['operation', 'status'],
    help: 'Case operations by outcome.',
    values: {
      operation: [
        'list',
        'read',
        'read_events',
        'create',
        'update',
        'status_change',
        'stage_change',
        'bulk_status',
        'delete',
        'remake',
        'note_list',
        'note_read',
        'note_revisions',
        'note_create',
        'note_update',
        'note_delete',
      ],
      status: ['success', 'client_error', 'error'],
    },
  },
  {
    name: 'lhcms_db_pool_connections',
    type: 'gauge',
    labels: ['pool', 'state'],
    help: 'Database pool connections by pool and state (read at scrape time).',
    values: { pool: ['primary', 'replica'], state: ['total', 'idle', 'waiting'] },
  },
  {
    name: 'lhcms_db_replica_lag_seconds',
    type: 'gauge',
    labels: ['replica'],
    help: 'Replication lag of each standby in DATABASE_REPLICA_URLS (`replica`: its position in the list, from 0), from the last probe (every DATABASE_REPLICA_PROBE_MS): how old the newest primary state it has replayed is (0 when it has replayed all the primary has written; an idle primary reads 0). Absent while the standby is down or not yet probed.',
  },
  {
    name: 'lhcms_db_replica_in_use',
    type: 'gauge',
    labels: ['replica'],
    help: 'Whether reads may go to a standby of DATABASE_REPLICA_URLS (1: up and within DATABASE_REPLICA_MAX_LAG_MS) or go to the primary instead (0: down, or lagging).',
  },
  {
    name: 'lhcms_db_replica_fallback_reads_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Reads that could have gone to a standby and went to the primary: `down` (no standby answers its probe), `lagging` (every standby up is past DATABASE_REPLICA_MAX_LAG_MS), `error` (the standby lost the connection or cancelled the read; it ran again on the primary).',
    values: { reason: ['down', 'lagging', 'error'] },
  },
  {
    name: 'lhcms_ums_request_duration_seconds',
    type: 'histogram',
    labels: ['operation', 'outcome'],
    help: 'UMS calls by operation and outcome.',
    buckets: LATENCY_BUCKETS,
    values: {
      operation: ['me', 'labs', 'health'],
      outcome: ['ok', 'unauthorized', 'error', 'timeout', 'circuit_open'],
    },
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
    help: 'Cache lookups by cache (`principal_local`: in-process, `principal`: shared) and result.',
    values: { cache: ['principal_local', 'principal'], result: ['hit', 'miss'] },
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
    help: 'Audit write latency by mode.',
    buckets: LATENCY_BUCKETS,
    values: { mode: ['transactional', 'batch'] },
  },
  {
    name: 'lhcms_audit_write_failures_total',
    type: 'counter',
    labels: ['mode'],
    help: 'Audit writes that failed (the request was refused or rolled back).',
    values: { mode: ['transactional', 'batch'] },
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
  {
    name: 'lhcms_outbox_lag_seconds',
    type: 'gauge',
    labels: [],
    help: 'Age of the oldest case event not yet dispatched to the event sinks (0 when none waits); reported every 5 s by a replica running the outbox dispatcher (EVENTS_DISPATCHER=on); 0 on a replica that does not run it.',
  },
  {
    name: 'lhcms_outbox_undispatched_events',
    type: 'gauge',
    labels: [],
    help: 'Case events not yet dispatched to the event sinks; reported every 5 s by a replica running the outbox dispatcher; 0 on a replica that does not run it.',
  },
  {
    name: 'lhcms_webhook_deliveries_total',
    type: 'counter',
    labels: ['outcome'],
    help: 'Webhook delivery attempts by outcome: `delivered` (a 2xx), `retry` (failed, tried again later), `dead` (failed at the end of the retry window: dead letter).',
    values: { outcome: ['delivered', 'retry', 'dead'] },
  },
  {
    name: 'lhcms_webhook_delivery_latency_seconds',
    type: 'histogram',
    labels: [],
    help: "From a case change's commit time (the event's occurred_at) to its webhook delivery's 2xx, for live deliveries (not redeliveries or replays); retries included.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
  },
  {
    name: 'lhcms_webhook_pending_deliveries',
    type: 'gauge',
    labels: [],
    help: 'Webhook deliveries not yet delivered nor dead (all labs); reported every 5 s by a replica running the delivery worker; 0 on a replica that does not run it.',
  },
  {
    name: 'lhcms_webhook_oldest_pending_seconds',
    type: 'gauge',
    labels: [],
    help: 'Age of the oldest pending webhook delivery (0 when none waits); reported every 5 s by a replica running the delivery worker; 0 on a replica that does not run it.',
  },
  {
    name: 'lhcms_dependency_up',
    type: 'gauge',
    labels: ['dependency'],
    help: 'Whether this replica reaches a dependency (1) or serves degraded without it (0); absent for a dependency that is not configured. Only `database` affects readiness.',
    values: { dependency: ['database', 'redis', 'ums', 'linkshub', 'storage'] },
  },
  {
    name: 'lhcms_rate_limiter_fail_open_total',
    type: 'counter',
    labels: [],
    help: 'Requests the rate limiter could not count in Redis (down, or slower than REDIS_TIMEOUT_MS): the shared limit fails open for them, and each replica limits them on its own count instead.',
  },
  {
    name: 'lhcms_attachment_uploads_total',
    type: 'counter',
    labels: ['outcome'],
    help: 'Attachment uploads by outcome: stored, refused (a 4xx: type, size, limits, checksum, bad input), aborted (the client went away), failed (storage or database fault).',
    values: { outcome: ['stored', 'refused', 'aborted', 'failed'] },
  },
  {
    name: 'lhcms_attachment_bytes_total',
    type: 'counter',
    labels: ['direction'],
    help: 'Attachment bytes received from clients (`in`, as uploaded) and served to them (`out`, plaintext).',
    values: { direction: ['in', 'out'] },
  },
  {
    name: 'lhcms_attachment_storage_duration_seconds',
    type: 'histogram',
    labels: ['operation'],
    help: 'Duration of object store calls (a put spans the whole streamed upload; a get, until the stream is open).',
    buckets: LATENCY_BUCKETS,
    values: { operation: ['put', 'get', 'size', 'delete', 'check'] },
  },
  {
    name: 'lhcms_attachment_storage_errors_total',
    type: 'counter',
    labels: ['operation'],
    help: 'Object store calls that failed (unreachable, refused, timed out); a missing object is not counted here.',
    values: { operation: ['put', 'get', 'size', 'delete', 'check'] },
  },
  {
    name: 'lhcms_attachment_integrity_failures_total',
    type: 'counter',
    labels: [],
    help: 'Stored attachments that failed their integrity check on download (tampered, truncated or missing object): never served.',
  },
  {
    name: 'lhcms_report_requests_total',
    type: 'counter',
    labels: ['report', 'format', 'outcome'],
    help: 'Report calls (/api/v1/reports/…) by report, format served (`none` for a refusal or a failure: nothing was served) and outcome. No lab label: per-lab figures are what the reports themselves answer.',
    values: {
      report: ['wip-by-stage', 'due-calendar', 'on-time', 'remakes', 'throughput'],
      format: ['json', 'csv', 'none'],
      outcome: ['success', 'client_error', 'error'],
    },
  },
  {
    name: 'lhcms_event_streams_open',
    type: 'gauge',
    labels: [],
    help: 'Live-feed streams (GET /api/v1/events/stream) open on this replica.',
  },
  {
    name: 'lhcms_event_stream_events_sent_total',
    type: 'counter',
    labels: ['phase'],
    help: "Events written to live-feed streams: `catch_up` (read for one stream from its Last-Event-ID) or `live` (from the replica's poller).",
    values: { phase: ['catch_up', 'live'] },
  },
  {
    name: 'lhcms_event_streams_refused_total',
    type: 'counter',
    labels: ['reason'],
    help: "Live-feed streams refused: `user_limit` (429, EVENTS_STREAM_MAX_PER_USER), `replica_limit` (503, EVENTS_STREAM_MAX_PER_REPLICA), `bad_request` (400: query or Last-Event-ID malformed), `resume_unavailable` (410: the Last-Event-ID is not an event of the lab's stream).",
    values: { reason: ['user_limit', 'replica_limit', 'bad_request', 'resume_unavailable'] },
  },
  {
    name: 'lhcms_event_streams_closed_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Live-feed streams ended by reason: `client` (went away), `token_expired`, `shutdown`, `too_slow` (fell too far behind: the client resumes with Last-Event-ID), `error` (a database fault).',
    values: { reason: ['client', 'token_expired', 'shutdown', 'too_slow', 'error'] },
  },
  {
    name: 'lhcms_emergency_grants_total',
    type: 'counter',
    labels: ['access'],
    help: 'Emergency-access (break-glass) grants created, by the access they give (docs/hipaa.md#emergency-access). Every new grant fires the LHCMSEmergencyAccessGranted alert.',
    values: { access: ['read', 'write'] },
  },
  {
    name: 'lhcms_emergency_grants_active',
    type: 'gauge',
    labels: [],
    help: 'Emergency-access grants in effect now (approved, not expired, not revoked) across the deployment; every replica reports the same count (refreshed every 30 s and on each change), so take max().',
  },
] as const satisfies readonly MetricSpec[];

export type MetricName = (typeof METRICS)[number]['name'];

type SpecOf<N extends MetricName> = Extract<(typeof METRICS)[number], { name: N }>;

/** The label names of a catalogue metric: MetricsService's prom-client types use these. */
export type LabelOf<N extends MetricName> = SpecOf<N>['labels'][number];

/** The declared values of one label of a catalogue metric. */
export type LabelValue<N extends MetricName, K extends string> =
  SpecOf<N> extends { values: infer V }
    ? K extends keyof V
      ? V[K] extends readonly (infer X)[]
        ? X
        : never
      : never
    : never;

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
