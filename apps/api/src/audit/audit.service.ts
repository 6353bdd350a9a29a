import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { TtlCache } from '@lhcms/cache';
import { Env } from '@lhcms/config';
import { DatabaseConnector, isDatabaseUnavailable, rows } from '@lhcms/database';
import { RequestContext } from '@lhcms/request-context';
import {
  ACTION_OF,
  type AuditInteraction,
  type AuditRecord,
  type ChangedField,
  insertStatement,
} from './audit-event';
import { AuditBatchWriter } from './audit-batch-writer';
import { AuditConnections } from './audit-connections';
import { caseChangedFields } from './changed-fields';
import { crossLabRecordsOf } from './cross-lab-attempt';
import { actorOf, grantQueryOf, requestRecord } from './request-record';
import { AuditError } from './audit.errors';
import { type AuditKeys, auditKeys, patientRefOf } from './audit-keys';
import { AuditLog, type ShippedAuditEvent } from './audit-log';
import { AUDIT_OBSERVER, type AuditObserver } from './audit-observer';
import { AUDIT_ROUTE_CONFIG_KEY, type AuditSpec, type AuditSubjects } from './audited.decorator';
import { CasesErrorCode } from '../case-model';
import { isCaseId } from '../case-model';

/** A write to record inside its own transaction. */
export interface AuditedChange {
  labId: string;
  resourceType: string;
  resourceId: string | number;
  interaction: Extract<AuditInteraction, 'create' | 'update' | 'status_change' | 'delete'>;
  changedFields: ChangedField[];
  /** Plaintext `patient_info` objects involved (before and after); only their patient_id is used, keyed. */
  patients: unknown[];
}

const REQUEST_KEY = 'lhcms.audit.request';
const RECORDED_KEY = 'lhcms.audit.recorded';

/** Patient refs memoised per (lab, id, version): enough for every case on many labs' boards. */
const REF_MEMO_ENTRIES = 20_000;
const REF_MEMO_TTL_MS = 60 * 60_000;

function distinct(values: Array<string | null>): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}

/**
 * The HIPAA audit trail (docs/hipaa.md; where rows are written:
 * docs/architecture.md): every access to case data and every refused attempt
 * leaves one row, without PHI.
 *
 * - Writes: `recordChange(em, …)` inserts the row with the write's own
 *   EntityManager, so the change and its audit row commit together or not at
 *   all; the row is shipped to the audit log stream after the commit.
 * - Reads: the interceptor calls `recordRead` after the handler and before the
 *   response; the row is group-committed (AuditBatchWriter) and the caller
 *   waits for the commit. Failure → 503, the data never leaves.
 * - Refusals and failures: the exception filter calls `recordFailure` and
 *   awaits it before the error response is sent.
 */
@Injectable()
export class AuditService implements OnModuleInit {
  private readonly log = new Logger('Audit');
  private readonly keys: AuditKeys | undefined;
  private readonly writer: AuditBatchWriter;
  private readonly refMemo = new TtlCache<string, { ref: string | null }>(REF_MEMO_ENTRIES);
  /** Rows inserted in a transaction, shipped once it commits. */
  private readonly uncommitted = new WeakMap<QueryRunner, ShippedAuditEvent[]>();

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly cls: ClsService,
    private readonly context: RequestContext,
    private readonly auditLog: AuditLog,
    @Inject(AUDIT_OBSERVER) private readonly observer: AuditObserver,
    private readonly connections: AuditConnections,
    private readonly connector: DatabaseConnector,
  ) {
    this.keys = env.HIPAA_AUDIT_ENABLED ? auditKeys(env) : undefined;
    this.writer = new AuditBatchWriter(
      async ({ name, text, params }) => {
        // On the audit trail's own connections; a named prepared statement, parsed once on each.
        await this.connections.get().query({ name, text, values: params });
      },
      {
        maxBatch: env.AUDIT_BATCH_MAX_SIZE,
        lingerMs: env.AUDIT_BATCH_LINGER_MS,
        maxInFlight: env.AUDIT_BATCH_MAX_IN_FLIGHT,
      },
      (records, seconds, err) => {
        if (err) {
          this.observer.auditFailure('batch');
          return;
        }
        this.observer.auditWrite('batch', seconds);
        this.auditLog.ship(records);
      },
    );
  }

  /** False only when HIPAA_AUDIT_ENABLED=false (refused in production). */
  get enabled(): boolean {
    return this.env.HIPAA_AUDIT_ENABLED;
  }

  onModuleInit(): void {
    // Ship transactional rows once their transaction has committed; drop them on rollback.
    // Once connected: the DataSource connects after boot, and initialize() resets its subscribers.
    this.connector.onConnect((ds) =>
      ds.subscribers.push({
        afterTransactionCommit: ({ queryRunner }) => {
          const shipped = this.uncommitted.get(queryRunner);
          if (!shipped) return;
          this.uncommitted.delete(queryRunner);
          try {
            this.auditLog.ship(shipped);
          } catch (err) {
            this.log.error({ err: String(err) }, 'audit log shipping failed');
          }
        },
        afterTransactionRollback: ({ queryRunner }) => {
          this.uncommitted.delete(queryRunner);
        },
      }),
    );
  }

  /** The keyed patient reference of a plaintext patient_info (never the identifier). */
  patientRef(labId: string, patientInfo: unknown): string | null {
    return this.keys ? patientRefOf(this.keys.patientRef, labId, patientInfo) : null;
  }

  /**
   * patientRef of a resource read at a known version, memoised by (lab, id,
   * version): a list shows the same cases again and again, and 20 HMACs per
   * page were a tenth of what auditing a list cost the API. The memo holds
   * ids, versions and refs only, never a patient identifier.
   */
  private subjectPatientRef(
    labId: string,
    id: string | undefined,
    version: number | undefined,
    patientInfo: unknown,
  ): string | null {
    if (id === undefined || version === undefined) return this.patientRef(labId, patientInfo);
    const key = `${labId}\u0000${id}\u0000${version}`;
    const known = this.refMemo.get(key);
    if (known !== undefined) return known.ref;
    const ref = this.patientRef(labId, patientInfo);
    this.refMemo.set(key, { ref }, Date.now() + REF_MEMO_TTL_MS);
    return ref;
  }

  /**
   * The changed fields of a case write as the audit trail records them:
   * old/new values for non-PHI fields only, names for the rest (default deny).
   */
  caseChangedFields(
    changes: Readonly<Record<string, unknown>>,
    before?: Readonly<Record<string, unknown>>,
  ): ChangedField[] {
    return caseChangedFields(changes, before);
  }

  /**
   * The audit spec of a route that declares none, when the request runs under
   * an emergency grant: every request under a grant is on the lab's record,
   * not only those of audited routes (a read of the lab's settings, say).
   */
  emergencySpec(req: FastifyRequest): AuditSpec | undefined {
    if (this.context.access?.kind !== 'emergency') return undefined;
    const read = req.method === 'GET' || req.method === 'HEAD';
    return { resourceType: 'route', interaction: read ? 'read' : 'update', mode: 'read' };
  }

  /** Binds the request being handled, for rows recorded deeper down (recordChange). */
  bindRequest(req: FastifyRequest, spec: AuditSpec): void {
    if (!this.cls.isActive()) return;
    this.cls.set(REQUEST_KEY, { req, spec });
    this.cls.set(RECORDED_KEY, 0);
  }

  /** Rows recordChange wrote for the current request. */
  recordedInRequest(): number {
    return this.cls.isActive() ? (this.cls.get<number>(RECORDED_KEY) ?? 0) : 0;
  }

  /**
   * Records a write inside its transaction (same EntityManager): the audit row
   * and the change commit together or not at all. A failed insert aborts the
   * transaction and surfaces as 503.
   */
  async recordChange(em: EntityManager, change: AuditedChange): Promise<void> {
    if (!this.enabled) return;
    const bound = this.cls.isActive()
      ? this.cls.get<{ req: FastifyRequest; spec: AuditSpec } | undefined>(REQUEST_KEY)
      : undefined;
    const record: AuditRecord = {
      ...actorOf(this.context, bound?.req),
      occurred_at: new Date(),
      lab_id: change.labId,
      event_type: bound ? 'rest' : 'system',
      action: ACTION_OF[change.interaction],
      interaction: change.interaction,
      resource_type: change.resourceType,
      resource_id: String(change.resourceId),
      patient_ref: null,
      subject_count: 1,
      entity_ids: null,
      patient_refs: null,
      query: grantQueryOf(this.context),
      changed_fields: change.changedFields,
      outcome: 'success',
      outcome_detail: null,
      http_status: bound ? (bound.spec.successStatus ?? 200) : null,
    };
    const refs = distinct(change.patients.map((p) => this.patientRef(change.labId, p)));
    record.patient_ref = refs.length > 0 ? refs[refs.length - 1] : null;
    if (refs.length > 1) record.patient_refs = refs;

    const started = performance.now();
    try {
      const { text, params } = insertStatement([record], true);
      const inserted = await rows<{ seq: string }>(em, text, params);
      this.observer.auditWrite('transactional', (performance.now() - started) / 1000);
      if (em.queryRunner) {
        const list = this.uncommitted.get(em.queryRunner) ?? [];
        list.push({ ...record, seq: inserted[0]?.seq ?? null });
        this.uncommitted.set(em.queryRunner, list);
      }
      if (this.cls.isActive()) this.cls.set(RECORDED_KEY, this.recordedInRequest() + 1);
    } catch (err) {
      this.observer.auditFailure('transactional');
      this.failureLog(err)(
        { err: errorFacts(err) },
        'audit insert failed: the write is rolled back',
      );
      throw AuditError.unavailable();
    }
  }

  /**
   * Records a successful read (or a write the service did not record) after
   * the handler ran, and returns once the row is committed. Throws
   * AuditError.unavailable() (503) when it cannot be written.
   */
  async recordRead(req: FastifyRequest, spec: AuditSpec, result: unknown): Promise<void> {
    if (!this.enabled) return;
    const status = spec.successStatus ?? 200;
    const record = requestRecord(this.context, req, spec, status, null);
    const subjects: AuditSubjects = spec.subjects ? spec.subjects(result) : {};
    if (record.lab_id === null && subjects.labId) record.lab_id = subjects.labId;
    const lab = record.lab_id;
    const ids = (subjects.ids ?? []).map(String);
    const refs =
      lab !== null
        ? distinct(
            (subjects.patients ?? []).map((p, i) =>
              this.subjectPatientRef(lab, ids[i], subjects.versions?.[i], p),
            ),
          )
        : [];
    if (spec.interaction === 'read' || spec.interaction === 'update') {
      record.resource_id = record.resource_id ?? ids[0] ?? null;
      record.patient_ref = refs[0] ?? subjects.patientRef ?? null;
      record.subject_count = ids.length > 0 || record.resource_id ? 1 : 0;
    } else {
      record.subject_count = subjects.count ?? ids.length;
      if (ids.length > 0) record.entity_ids = ids;
      if (refs.length > 0) record.patient_refs = refs;
      record.patient_ref = subjects.patientRef ?? (refs.length === 1 ? refs[0] : null);
    }
    if (subjects.detail) record.query = { ...(record.query ?? {}), ...subjects.detail };
    await this.write(record);
  }

  /**
   * Records a refused or failed request on an audited route (401, 403, 404,
   * 409, 400, 5xx). Called by the exception filter before the error response
   * is sent; resolves false when the route is not audited.
   */
  async recordFailure(
    req: FastifyRequest,
    status: number,
    code: string | undefined,
  ): Promise<boolean> {
    if (!this.enabled) return false;
    const config = req.routeOptions?.config as unknown as Record<string, unknown> | undefined;
    const spec =
      (config?.[AUDIT_ROUTE_CONFIG_KEY] as AuditSpec | undefined) ?? this.emergencySpec(req);
    if (!spec) return false;
    const record = requestRecord(this.context, req, spec, status, code ?? null);
    const caseId =
      spec.resourceType === 'case'
        ? record.resource_id
        : spec.caseIdParam
          ? (req.params as Record<string, unknown> | undefined)?.[spec.caseIdParam]
          : null;
    const notFound = code === CasesErrorCode.CaseNotFound;
    const owners = notFound && typeof caseId === 'string' ? [caseId] : [];
    const elsewhere = await this.crossLabRecords(record, owners);
    // One group commit: a foreign case costs the caller no more than a missing one.
    await Promise.all([record, ...elsewhere].map((r) => this.write(r)));
    return true;
  }

  /**
   * Bulk requests: case ids of the request that were "not found". Those that
   * belong to another lab leave a security event in that lab's trail (the
   * caller's answer is unchanged). Called for every not-found id, whether
   * missing or foreign, so both cost the caller the same.
   */
  async recordCrossLabAttempts(caseIds: Array<string | number>): Promise<void> {
    if (!this.enabled || caseIds.length === 0 || !this.cls.isActive()) return;
    const bound = this.cls.get<{ req: FastifyRequest; spec: AuditSpec } | undefined>(REQUEST_KEY);
    if (!bound) return;
    const base = requestRecord(
      this.context,
      bound.req,
      bound.spec,
      404,
      CasesErrorCode.CaseNotFound,
    );
    const elsewhere = await this.crossLabRecords(base, caseIds.map(String));
    await Promise.all(elsewhere.map((r) => this.write(r)));
  }

  /**
   * The owning labs' rows of a "case not found" answered to `actor` (the
   * caller's own row): one per other lab owning some of `caseIds`, with the
   * caller's user, lab, route and outcome, and nothing of the case but its id.
   * The owner comes from case_owner_lab(), the one cross-lab lookup the app
   * role may make, and only on this path.
   */
  private async crossLabRecords(actor: AuditRecord, caseIds: string[]): Promise<AuditRecord[]> {
    const ids = [...new Set(caseIds)].filter(isCaseId);
    if (actor.lab_id === null || ids.length === 0) return [];
    let found: Array<{ id: string; lab_id: string | null }>;
    try {
      found = await this.ds.query<Array<{ id: string; lab_id: string | null }>>(
        `SELECT id::text AS id, case_owner_lab(id) AS lab_id FROM unnest($1::bigint[]) AS id`,
        [ids],
      );
    } catch (err) {
      // The attempt cannot be put on record for its owner: fail closed, as for any audit row.
      this.log.warn({ err: errorFacts(err) }, 'case owner lookup failed: the request is refused');
      throw AuditError.unavailable();
    }
    return crossLabRecordsOf(actor, found);
  }

  /** Records an event outside any request (retention, operations). */
  async recordSystem(
    record: Partial<AuditRecord> & Pick<AuditRecord, 'interaction'>,
  ): Promise<void> {
    if (!this.enabled) return;
    await this.write({
      ...actorOf(this.context, undefined),
      occurred_at: new Date(),
      lab_id: null,
      event_type: 'system',
      action: ACTION_OF[record.interaction],
      resource_type: null,
      resource_id: null,
      patient_ref: null,
      subject_count: null,
      entity_ids: null,
      patient_refs: null,
      query: null,
      changed_fields: null,
      outcome: 'success',
      outcome_detail: null,
      http_status: null,
      ...record,
    });
  }

  /** Waits for queued group-commit batches (shutdown, tests). */
  drain(): Promise<void> {
    return this.writer.drain();
  }

  /**
   * How a failed audit write is logged: a warning while the database cannot serve (its outage
   * is readiness's and the alerts' story, and every request would log one), an error otherwise.
   */
  private failureLog(err: unknown): (obj: object, msg: string) => void {
    return isDatabaseUnavailable(err)
      ? (obj, msg) => this.log.warn(obj, msg)
      : (obj, msg) => this.log.error(obj, msg);
  }

  private async write(record: AuditRecord): Promise<void> {
    try {
      await this.writer.write(record);
    } catch (err) {
      this.failureLog(err)(
        { err: errorFacts(err) },
        'audit batch insert failed: the request is refused',
      );
      throw AuditError.unavailable();
    }
  }
}

/** What may be logged of a failed audit insert: never the parameters (they are row values). */
function errorFacts(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; code?: string; driverError?: { code?: string } };
  return { type: e?.name, code: e?.code ?? e?.driverError?.code };
}
