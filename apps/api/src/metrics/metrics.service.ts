import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Pool } from 'pg';
import { type Counter, type Gauge, type Histogram, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { ReplicaRouter } from '@lhcms/database';
import { type LabelOf, type LabelValue, METRICS, type MetricSpec } from './metric-catalogue';

export type CaseOperation = LabelValue<'lhcms_case_operations_total', 'operation'>;
export type CaseOperationStatus = LabelValue<'lhcms_case_operations_total', 'status'>;
export type UmsOperation = LabelValue<'lhcms_ums_request_duration_seconds', 'operation'>;
export type UmsOutcome = LabelValue<'lhcms_ums_request_duration_seconds', 'outcome'>;
export type CacheName = LabelValue<'lhcms_cache_requests_total', 'cache'>;
export type AuditWriteMode = LabelValue<'lhcms_audit_write_failures_total', 'mode'>;
export type Dependency = LabelValue<'lhcms_dependency_up', 'dependency'>;
export type AttachmentUploadOutcome = LabelValue<'lhcms_attachment_uploads_total', 'outcome'>;
export type ReportLabel = LabelValue<'lhcms_report_requests_total', 'report'>;
export type ReportFormat = LabelValue<'lhcms_report_requests_total', 'format'>;
export type ReportOutcome = LabelValue<'lhcms_report_requests_total', 'outcome'>;
export type WebhookOutcome = LabelValue<'lhcms_webhook_deliveries_total', 'outcome'>;
export type EventStreamPhase = LabelValue<'lhcms_event_stream_events_sent_total', 'phase'>;
export type EventStreamRefusal = LabelValue<'lhcms_event_streams_refused_total', 'reason'>;
export type EventStreamClose = LabelValue<'lhcms_event_streams_closed_total', 'reason'>;
export type AttachmentStoreOperation = LabelValue<
  'lhcms_attachment_storage_errors_total',
  'operation'
>;

/** Every combination of a metric's declared label values (one empty set for a metric without labels). */
export function labelCombinations(spec: MetricSpec): Array<Record<string, string>> | undefined {
  let out: Array<Record<string, string>> = [{}];
  for (const label of spec.labels) {
    const values = spec.values?.[label];
    if (!values?.length) return undefined; // an open label: its series appear with their first event
    out = out.flatMap((c) => values.map((v) => ({ ...c, [label]: v })));
  }
  return out;
}

/** The counters and histograms exported at 0 from process start: every combination of their declared values. */
export function zeroSeriesOf(
  specs: readonly MetricSpec[] = METRICS,
): Array<{ name: string; type: 'counter' | 'histogram'; labels: Record<string, string> }> {
  return specs.flatMap((spec) => {
    if (spec.type === 'gauge') return []; // a gauge at 0 would be a claim (e.g. "down"), not an absence of events
    const type = spec.type;
    return (labelCombinations(spec) ?? []).map((labels) => ({ name: spec.name, type, labels }));
  });
}

/** A pool of node-postgres, as TypeORM's postgres driver holds it. */
type PgPool = Pick<Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;

function nonNegative(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * The one way code records metrics (exported by the metrics module, global).
 * Every metric is declared in metric-catalogue.ts; the Grafana dashboards
 * and Prometheus rules in ops/ use exactly those names and labels. Labels
 * take code-defined values only — never ids, paths or user input.
 */
@Injectable()
export class MetricsService {
  constructor(
    @InjectMetric('lhcms_requests_total')
    private readonly requests: Counter<LabelOf<'lhcms_requests_total'>>,
    @InjectMetric('lhcms_request_duration_seconds')
    private readonly requestDuration: Histogram<LabelOf<'lhcms_request_duration_seconds'>>,
    @InjectMetric('lhcms_case_operations_total')
    private readonly caseOperations: Counter<LabelOf<'lhcms_case_operations_total'>>,
    @InjectMetric('lhcms_db_pool_connections')
    private readonly dbPool: Gauge<LabelOf<'lhcms_db_pool_connections'>>,
    @InjectMetric('lhcms_ums_request_duration_seconds')
    private readonly umsDuration: Histogram<LabelOf<'lhcms_ums_request_duration_seconds'>>,
    @InjectMetric('lhcms_ums_circuit_open') private readonly umsCircuitOpen: Gauge,
    @InjectMetric('lhcms_cache_requests_total')
    private readonly cacheRequests: Counter<LabelOf<'lhcms_cache_requests_total'>>,
    @InjectMetric('lhcms_rate_limit_rejections_total') private readonly rateLimits: Counter,
    @InjectMetric('lhcms_rate_limiter_fail_open_total') private readonly failOpen: Counter,
    @InjectMetric('lhcms_dependency_up')
    private readonly dependencyUp: Gauge<LabelOf<'lhcms_dependency_up'>>,
    @InjectMetric('lhcms_audit_write_duration_seconds')
    private readonly auditDuration: Histogram<LabelOf<'lhcms_audit_write_duration_seconds'>>,
    @InjectMetric('lhcms_audit_write_failures_total')
    private readonly auditFailures: Counter<LabelOf<'lhcms_audit_write_failures_total'>>,
    @InjectMetric('lhcms_audit_sealing_lag_seconds') private readonly sealingLag: Gauge,
    @InjectMetric('lhcms_audit_unsealed_events') private readonly unsealed: Gauge,
    @InjectMetric('lhcms_outbox_lag_seconds') private readonly outboxLag: Gauge,
    @InjectMetric('lhcms_outbox_undispatched_events') private readonly outboxWaiting: Gauge,
    @InjectMetric('lhcms_webhook_deliveries_total')
    private readonly webhookDeliveries: Counter<LabelOf<'lhcms_webhook_deliveries_total'>>,
    @InjectMetric('lhcms_webhook_delivery_latency_seconds')
    private readonly webhookLatency: Histogram,
    @InjectMetric('lhcms_webhook_pending_deliveries') private readonly webhookPending: Gauge,
    @InjectMetric('lhcms_webhook_oldest_pending_seconds') private readonly webhookOldest: Gauge,
    @InjectMetric('lhcms_attachment_uploads_total')
    private readonly attachmentUploads: Counter<LabelOf<'lhcms_attachment_uploads_total'>>,
    @InjectMetric('lhcms_attachment_bytes_total')
    private readonly attachmentBytes: Counter<LabelOf<'lhcms_attachment_bytes_total'>>,
    @InjectMetric('lhcms_attachment_storage_duration_seconds')
    private readonly storageDuration: Histogram<
      LabelOf<'lhcms_attachment_storage_duration_seconds'>
    >,
    @InjectMetric('lhcms_attachment_storage_errors_total')
    private readonly storageErrors: Counter<LabelOf<'lhcms_attachment_storage_errors_total'>>,
    @InjectMetric('lhcms_attachment_integrity_failures_total')
    private readonly integrityFailures: Counter,
    @InjectMetric('lhcms_report_requests_total')
    private readonly reportRequests: Counter<LabelOf<'lhcms_report_requests_total'>>,
    @InjectMetric('lhcms_event_streams_open') private readonly streamsOpen: Gauge,
    @InjectMetric('lhcms_event_stream_events_sent_total')
    private readonly streamEvents: Counter<LabelOf<'lhcms_event_stream_events_sent_total'>>,
    @InjectMetric('lhcms_event_streams_refused_total')
    private readonly streamsRefused: Counter<LabelOf<'lhcms_event_streams_refused_total'>>,
    @InjectMetric('lhcms_event_streams_closed_total')
    private readonly streamsClosed: Counter<LabelOf<'lhcms_event_streams_closed_total'>>,
    @InjectMetric('lhcms_emergency_grants_total')
    private readonly emergencyGrants: Counter<LabelOf<'lhcms_emergency_grants_total'>>,
    @InjectMetric('lhcms_emergency_grants_active') private readonly emergencyActive: Gauge,
    @InjectMetric('lhcms_db_replica_lag_seconds')
    private readonly replicaLag: Gauge<LabelOf<'lhcms_db_replica_lag_seconds'>>,
    @InjectMetric('lhcms_db_replica_in_use')
    private readonly replicaInUse: Gauge<LabelOf<'lhcms_db_replica_in_use'>>,
    @InjectMetric('lhcms_db_replica_fallback_reads_total')
    private readonly replicaFallbacks: Counter<LabelOf<'lhcms_db_replica_fallback_reads_total'>>,
    @Optional() @InjectDataSource() private readonly dataSource?: DataSource,
    @Optional() private readonly replicas?: ReplicaRouter,
  ) {
    this.replicas?.onFallback((reason) => this.replicaFallbacks.inc({ reason }));
    // Series that exist from the first scrape, so that alerts on them have data
    // (an absent series is not 0 to PromQL, and a counter first seen at 1 has
    // an increase() of 0): every counter and histogram series of the
    // catalogue's declared label values, at 0. The sealing gauges stay 0
    // until the audit module reports through setAuditSealing().
    for (const s of zeroSeriesOf()) {
      const metric = register.getSingleMetric(s.name);
      if (s.type === 'counter') (metric as Counter).inc(s.labels, 0);
      else (metric as Histogram).zero(s.labels);
    }
    this.umsCircuitOpen.set(0);
    this.streamsOpen.set(0);
    this.sealingLag.set(0);
    this.unsealed.set(0);
    this.emergencyActive.set(0);
  }

  /** A new emergency-access grant. */
  emergencyGrantCreated(access: LabelValue<'lhcms_emergency_grants_total', 'access'>): void {
    this.emergencyGrants.inc({ access });
  }

  /** The deployment's active emergency grants. */
  setEmergencyGrantsActive(n: number): void {
    this.emergencyActive.set(Math.max(0, Math.trunc(n)) || 0);
  }

  /** One HTTP response (called by the app's onResponse hook, once per response). */
  httpRequest(method: string, route: string, status: number, seconds: number | undefined): void {
    this.requests.inc({ method, route, status: String(status) });
    // Without a duration (a long-lived stream): counted, not a latency.
    if (seconds !== undefined)
      this.requestDuration.observe({ method, route }, nonNegative(seconds));
  }

  /** A case operation and its outcome. */
  caseOperation(operation: CaseOperation, status: CaseOperationStatus): void {
    this.caseOperations.inc({ operation, status });
  }

  /**
   * One UMS call: operation, outcome and duration in seconds. Its outcome
   * also sets `lhcms_dependency_up{dependency="ums"}`: up while the UMS
   * answers (a 401 is an answer), down after an error, a timeout or while
   * the circuit is open. Readiness checks and principal lookups both count.
   */
  umsCall(operation: UmsOperation, outcome: UmsOutcome, seconds: number): void {
    this.umsDuration.observe({ operation, outcome }, nonNegative(seconds));
    this.setDependencyUp('ums', outcome === 'ok' || outcome === 'unauthorized');
  }

  setUmsCircuitOpen(open: boolean): void {
    this.umsCircuitOpen.set(open ? 1 : 0);
  }

  /** A cache lookup. */
  cacheLookup(cache: CacheName, hit: boolean): void {
    this.cacheRequests.inc({ cache, result: hit ? 'hit' : 'miss' });
  }

  /** A request rejected with 429 by the rate limiter. */
  rateLimited(): void {
    this.rateLimits.inc();
  }

  /** A request the rate limiter counted per process because Redis could not be used. */
  rateLimiterFailOpen(): void {
    this.failOpen.inc();
  }

  /** Whether this replica reaches a dependency (1) or serves degraded without it (0). */
  setDependencyUp(dependency: Dependency, up: boolean): void {
    this.dependencyUp.set({ dependency }, up ? 1 : 0);
  }

  /** One audit write and its latency in seconds. */
  auditWrite(mode: AuditWriteMode, seconds: number): void {
    this.auditDuration.observe({ mode }, nonNegative(seconds));
  }

  /** An audit write that failed (the request was refused or rolled back). */
  auditFailure(mode: AuditWriteMode): void {
    this.auditFailures.inc({ mode });
  }

  /** Age of the oldest undispatched case event and how many wait (the outbox dispatcher, each round). */
  setOutboxBacklog(lagSeconds: number, undispatched: number): void {
    this.outboxLag.set(nonNegative(lagSeconds));
    this.outboxWaiting.set(Math.max(0, Math.trunc(undispatched)) || 0);
  }

  /** One webhook delivery attempt's outcome; for a live delivery, the seconds from the event to its 2xx. */
  webhookAttempt(outcome: WebhookOutcome, latencySeconds?: number): void {
    this.webhookDeliveries.inc({ outcome });
    if (latencySeconds !== undefined) this.webhookLatency.observe(nonNegative(latencySeconds));
  }

  /** Pending webhook deliveries (all labs) and the oldest one's age (the delivery worker, every 5 s). */
  setWebhookBacklog(pending: number, oldestSeconds: number): void {
    this.webhookPending.set(Math.max(0, Math.trunc(pending)) || 0);
    this.webhookOldest.set(nonNegative(oldestSeconds));
  }

  /** Live-feed streams open on this replica. */
  setEventStreamsOpen(open: number): void {
    this.streamsOpen.set(open);
  }

  /** Events written to live-feed streams. */
  eventStreamSent(phase: EventStreamPhase, n = 1): void {
    this.streamEvents.inc({ phase }, n);
  }

  /** A live-feed stream refused. */
  eventStreamRefused(reason: EventStreamRefusal): void {
    this.streamsRefused.inc({ reason });
  }

  /** A live-feed stream ended. */
  eventStreamClosed(reason: EventStreamClose): void {
    this.streamsClosed.inc({ reason });
  }

  /** Age of the oldest unsealed audit event and how many are unsealed (0, 0 when all are sealed). */
  setAuditSealing(lagSeconds: number, unsealed: number): void {
    this.sealingLag.set(nonNegative(lagSeconds));
    this.unsealed.set(Math.max(0, Math.trunc(unsealed)) || 0);
  }

  /** One attachment upload and how it ended. */
  attachmentUpload(outcome: AttachmentUploadOutcome): void {
    this.attachmentUploads.inc({ outcome });
  }

  /** Attachment bytes received (`in`) or served (`out`). */
  attachmentTransfer(direction: 'in' | 'out', bytes: number): void {
    if (bytes > 0) this.attachmentBytes.inc({ direction }, bytes);
  }

  /** One object store call and its duration in seconds. */
  attachmentStorage(operation: AttachmentStoreOperation, seconds: number): void {
    this.storageDuration.observe({ operation }, nonNegative(seconds));
  }

  /** An object store call that failed. */
  attachmentStorageError(operation: AttachmentStoreOperation): void {
    this.storageErrors.inc({ operation });
  }

  /** One report call: which report, the format served and how it ended. */
  reportRequest(report: ReportLabel, format: ReportFormat, outcome: ReportOutcome): void {
    this.reportRequests.inc({ report, format, outcome });
  }

  /** A stored attachment that failed its integrity check. */
  attachmentIntegrityFailure(): void {
    this.integrityFailures.inc();
  }

  /** The Prometheus text exposition, pool gauges read at scrape time. */
  async render(): Promise<string> {
    this.readPools();
    this.readReplicas();
    return register.metrics();
  }

  get contentType(): string {
    return register.contentType;
  }

  /** Each standby's lag and whether reads use it, as ReplicaRouter last probed them. */
  private readReplicas(): void {
    this.replicaLag.reset();
    this.replicaInUse.reset();
    for (const r of this.replicas?.status() ?? []) {
      const replica = String(r.index);
      this.replicaInUse.set({ replica }, r.inUse ? 1 : 0);
      if (r.lagMs !== undefined) this.replicaLag.set({ replica }, r.lagMs / 1000);
    }
  }

  /** Reads total/idle/waiting of the pg pools: the primary (TypeORM's) and, summed, the standbys' (ReplicaRouter's). */
  private readPools(): void {
    this.dbPool.reset();
    const driver = this.dataSource?.isInitialized
      ? (this.dataSource.driver as unknown as { master?: PgPool })
      : undefined;
    if (!driver) return;
    const set = (pool: string, pools: PgPool[]) => {
      const sum = (f: (p: PgPool) => number) => pools.reduce((n, p) => n + f(p), 0);
      this.dbPool.set(
        { pool, state: 'total' },
        sum((p) => p.totalCount),
      );
      this.dbPool.set(
        { pool, state: 'idle' },
        sum((p) => p.idleCount),
      );
      this.dbPool.set(
        { pool, state: 'waiting' },
        sum((p) => p.waitingCount),
      );
    };
    if (driver.master) set('primary', [driver.master]);
    const standbys = this.replicas?.pools ?? [];
    if (standbys.length) set('replica', [...standbys]);
  }
}
