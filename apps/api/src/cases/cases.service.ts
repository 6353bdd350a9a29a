import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Env } from '@lhcms/config';
import { rows, TenantDb } from '@lhcms/database';
import { AuditService } from '../audit';
import { PhiCipher } from '../encryption/phi-cipher';
import { AuthError } from '../ums-gateway/ums-gateway.errors';
import { allowedNext, checkStage, checkTransition } from './case-lifecycle';
import {
  CaseEventsRepository,
  type ChangedField,
  type NewCaseEvent,
} from './case-events.repository';
import {
  DETAIL_COLUMN,
  TRAIL_OMITTED_COLUMNS,
  TRAIL_VALUE_COLUMNS,
  wireName,
} from './case.columns';
import { CasesError, CasesErrorCode } from './cases.errors';
import { CasesRepository, type CaseValues, type StoredFilters } from './cases.repository';
import {
  type CaseResponse,
  type CaseRow,
  detailsOf,
  type StoredCaseRow,
  toCaseResponse,
} from './dto/case.response';
import {
  type CaseInputBody,
  type CaseStatus,
  type CaseUpdateBody,
  DETAIL_KINDS,
  type Json,
} from './dto/case.schemas';
import { type CaseFilters, encodeCursor, type ListQuery } from './dto/list-query';
import { IdempotencyRepository } from './idempotency.repository';
import { LabSettingsRepository, type LabSettings } from './lab-settings.repository';
import { LinksHubClient } from './linkshub/linkshub.client';

/** Who acts, in which lab (from the request context). */
export interface CaseActor {
  userId: string;
  labId: string;
  /** Lab code for case numbers (from the UMS; `L<lab id>` when it has none). */
  labCode?: string;
  /** The caller's bearer token, forwarded to the doctor directory. */
  token: string;
  /** May reopen completed cases (case:reopen). */
  canReopen: boolean;
  requestId?: string;
}

/** Preconditions of a write: the client's If-Match version, if it sent one. */
export interface WriteOptions {
  ifMatch?: number;
}

export interface CasePage {
  cases: CaseResponse[];
  pagination: {
    page: number;
    per_page: number;
    total: number;
    pages: number;
    has_prev: boolean;
    has_next: boolean;
  };
}

export interface CaseCursorPage {
  cases: CaseResponse[];
  next_cursor: string | null;
  limit: number;
}

export interface CreateResult {
  case: CaseResponse;
  /** True when an Idempotency-Key matched an earlier create: nothing new was written. */
  replayed: boolean;
}

export interface BulkResultItem {
  id: number;
  ok: boolean;
  status?: CaseStatus;
  version?: number;
  code?: number;
  error?: string;
  allowed_transitions?: string[];
}

/** The original stored a detail object only when it was non-empty. */
function detail(v: Json | null | undefined): Json | null {
  return v && Object.keys(v).length > 0 ? v : null;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** YYMM of now in UTC (the case number's period). */
function period(now = new Date()): string {
  return `${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

const UNIQUE_VIOLATION = '23505';

class IdempotencyRace extends Error {}

/**
 * Case use cases. Every unit of work runs in one lab-scoped transaction
 * (TenantDb): a change, its case_events row (and audit row) commit together.
 * Lifecycle rules (case-lifecycle.ts) are checked here and again by the
 * database trigger.
 */
@Injectable()
export class CasesService {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly events: CaseEventsRepository,
    private readonly settings: LabSettingsRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly directory: LinksHubClient,
    private readonly phi: PhiCipher,
    private readonly audit: AuditService,
  ) {}

  /**
   * The audit row of a write, in the write's own transaction (both commit or
   * neither). `changes` and `before` are the plaintext views: the audit keeps
   * names only for PHI fields and keys the patient, never stores it.
   */
  private auditWrite(
    em: EntityManager,
    actor: CaseActor,
    id: number,
    interaction: 'create' | 'update' | 'status_change' | 'delete',
    changes: Record<string, unknown>,
    before: CaseRow | undefined,
    patients: unknown[],
  ): Promise<void> {
    return this.audit.recordChange(em, {
      labId: actor.labId,
      resourceType: 'case',
      resourceId: id,
      interaction,
      changedFields: this.audit.caseChangedFields(changes, before),
      patients,
    });
  }

  /** Page defaults from configuration. */
  get pageDefaults(): { perPage: number; maxPerPage: number } {
    return { perPage: this.env.DEFAULT_PAGE_SIZE, maxPerPage: this.env.MAX_PAGE_SIZE };
  }

  private storedFilters(labId: string, f: CaseFilters): StoredFilters {
    const { patient_id, ...rest } = f;
    return patient_id === undefined
      ? rest
      : { ...rest, patient_id_bidx: this.phi.blindIndex(labId, patient_id) };
  }

  private plain(labId: string, row: StoredCaseRow): Promise<CaseRow> {
    return this.phi.decrypt(labId, row) as Promise<CaseRow>;
  }

  private async plainAll(labId: string, list: StoredCaseRow[]): Promise<CaseResponse[]> {
    return (await this.phi.decryptAll(labId, list)).map((r) => toCaseResponse(r as CaseRow));
  }

  private async event(
    em: EntityManager,
    actor: CaseActor,
    e: Omit<NewCaseEvent, 'labId' | 'actorUserId' | 'requestId'> & { reasonText?: string },
  ) {
    const { reasonText, ...rest } = e;
    await this.events.insert(em, {
      ...rest,
      labId: actor.labId,
      actorUserId: actor.userId,
      requestId: actor.requestId,
      reason: reasonText
        ? await this.phi.encryptText(actor.labId, 'case_events.reason', reasonText)
        : null,
    });
  }

  // ---- reads -------------------------------------------------------------------

  async list(actor: CaseActor, q: ListQuery): Promise<CasePage | CaseCursorPage> {
    const filters = this.storedFilters(actor.labId, q.filters);
    return this.db.read(actor.labId, async (em) => {
      if (q.mode === 'cursor') {
        const found = await this.repo.after(em, actor.labId, filters, q.cursor, q.limit + 1);
        const more = found.length > q.limit;
        const page = more ? found.slice(0, q.limit) : found;
        const last = page[page.length - 1];
        return {
          cases: await this.plainAll(actor.labId, page),
          next_cursor:
            more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
          limit: q.limit,
        };
      }
      const { rows: page, total } = await this.repo.pageWithTotal(
        em,
        actor.labId,
        filters,
        (q.page - 1) * q.perPage,
        q.perPage,
      );
      const pages = Math.ceil(total / q.perPage);
      return {
        cases: await this.plainAll(actor.labId, page),
        pagination: {
          page: q.page,
          per_page: q.perPage,
          total,
          pages,
          has_prev: q.page > 1,
          has_next: q.page < pages,
        },
      };
    });
  }

  async get(actor: CaseActor, id: number): Promise<CaseResponse> {
    const row = await this.db.read(actor.labId, (em) => this.repo.findById(em, actor.labId, id));
    if (!row) throw CasesError.notFound();
    return toCaseResponse(await this.plain(actor.labId, row));
  }

  async getByNumber(actor: CaseActor, caseNumber: string): Promise<CaseResponse> {
    const row = await this.db.read(actor.labId, (em) =>
      this.repo.findByNumber(em, actor.labId, caseNumber),
    );
    if (!row) throw CasesError.notFound();
    return toCaseResponse(await this.plain(actor.labId, row));
  }

  /** The timeline of a case, oldest first (also of a deleted case: the history stays). */
  async timeline(actor: CaseActor, id: number) {
    return this.db.read(actor.labId, async (em) => {
      const exists = await rows(
        em,
        `SELECT 1 FROM cases WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL`,
        [id, actor.labId],
      );
      if (exists.length === 0) throw CasesError.notFound();
      const list = await this.events.list(em, actor.labId, id);
      const events = [];
      for (const e of list) {
        events.push({
          ...e,
          reason: e.reason
            ? await this.phi.decryptText(actor.labId, 'case_events.reason', e.reason)
            : null,
        });
      }
      return { events };
    });
  }

  // ---- create ------------------------------------------------------------------

  async create(
    actor: CaseActor,
    body: CaseInputBody,
    idempotencyKey?: string,
  ): Promise<CreateResult> {
    const hash = idempotencyKey
      ? createHash('sha256').update(JSON.stringify(body)).digest('hex')
      : '';
    if (idempotencyKey) {
      const earlier = await this.replay(actor, idempotencyKey, hash);
      if (earlier) return earlier;
    }
    if (this.directory.configured) {
      await this.directory.checkCreate(body.doctor_id, body.product_id, actor.labId, actor.token);
    }
    const plain: Omit<CaseValues, 'case_number'> = {
      doctor_id: body.doctor_id,
      product_id: body.product_id,
      case_type: body.case_type,
      status: 'pending',
      case_name: body.case_name ?? null,
      description: body.description ?? null,
      priority: body.priority ?? 'medium',
      created_by: actor.userId,
      assigned_to: body.assigned_to ?? null,
      due_date: body.due_date ?? null,
      rush_order: body.rush_order ?? false,
      special_instructions: body.special_instructions ?? null,
      patient_info: body.patient_info ?? null,
      fixed_prosthetic_details: detail(body.fixed_prosthetic),
      denture_details: detail(body.denture),
      night_guard_details: detail(body.night_guard),
      implant_details: detail(body.implant),
      patient_id_bidx: this.phi.patientIndex(actor.labId, body.patient_info),
      stage: null,
    };
    const stored = await this.phi.encrypt(actor.labId, plain);
    try {
      const row = await this.db.withLab(actor.labId, async (em) => {
        const p = period();
        const seq = await this.repo.nextCaseSeq(em, actor.labId, p);
        const code =
          (actor.labCode ?? `L${actor.labId}`).replace(/[^A-Za-z0-9_]/g, '').slice(0, 20) ||
          `L${actor.labId}`;
        const created = await this.repo.insert(em, actor.labId, {
          ...stored,
          case_number: `${code}-${p}-${String(seq).padStart(4, '0')}`,
        });
        if (
          idempotencyKey &&
          !(await this.idempotency.claim(
            em,
            actor.labId,
            actor.userId,
            idempotencyKey,
            hash,
            created.id,
          ))
        ) {
          throw new IdempotencyRace();
        }
        await this.event(em, actor, { caseId: created.id, type: 'created', toStatus: 'pending' });
        await this.auditWrite(
          em,
          actor,
          created.id,
          'create',
          { ...plain, case_number: created.case_number },
          undefined,
          [body.patient_info],
        );
        return created;
      });
      return { case: toCaseResponse(await this.plain(actor.labId, row)), replayed: false };
    } catch (err) {
      // A concurrent request with the same key committed first: answer with its case.
      const raced =
        err instanceof IdempotencyRace ||
        (idempotencyKey && (err as { code?: string }).code === UNIQUE_VIOLATION);
      if (raced && idempotencyKey) {
        const earlier = await this.replay(actor, idempotencyKey, hash);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  private async replay(
    actor: CaseActor,
    key: string,
    hash: string,
  ): Promise<CreateResult | undefined> {
    const found = await this.db.read(actor.labId, (em) =>
      this.idempotency.find(em, actor.labId, actor.userId, key),
    );
    if (!found) return undefined;
    if (found.request_hash !== hash) {
      throw new CasesError(
        CasesErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was used for a different request body',
      );
    }
    const row = await this.db.read(actor.labId, (em) =>
      this.repo.findById(em, actor.labId, found.case_id),
    );
    // The case this key created was deleted since: answer as for any deleted case, never create another.
    if (!row) throw CasesError.notFound();
    return { case: toCaseResponse(await this.plain(actor.labId, row)), replayed: true };
  }

  // ---- writes on one case ---------------------------------------------------------

  /** Locks the live case for the rest of the transaction and checks If-Match. */
  private async lock(
    em: EntityManager,
    actor: CaseActor,
    id: number,
    opts: WriteOptions,
  ): Promise<CaseRow> {
    const stored = await this.repo.findById(em, actor.labId, id, true);
    if (!stored) throw CasesError.notFound();
    if (opts.ifMatch !== undefined && opts.ifMatch !== stored.version)
      throw CasesError.versionMismatch(stored.version);
    return this.plain(actor.labId, stored);
  }

  /**
   * Partial update (the original's PUT); `null` clears a nullable field.
   * Unchanged fields leave updated_at and the version alone. A status in the
   * body follows the lifecycle rules; a due-date change needs a reason.
   */
  async update(
    actor: CaseActor,
    id: number,
    body: CaseUpdateBody,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.lock(em, actor, id, opts);
      const changes = this.changesOf(current, body);
      if (Object.keys(changes).length === 0) {
        // Also audited: the response discloses the case.
        await this.auditWrite(em, actor, id, 'update', {}, current, [current.patient_info]);
        return toCaseResponse(current);
      }
      if (changes.due_date !== undefined && !body.reason)
        throw CasesError.reasonRequired('change the due date');
      const statusChange =
        changes.status !== undefined
          ? this.transition(actor, current, changes.status, body.reason)
          : undefined;
      if (statusChange?.entersProduction) changes.stage = await this.firstStage(em, actor.labId);
      if (changes.patient_info !== undefined) {
        changes.patient_id_bidx = this.phi.patientIndex(actor.labId, changes.patient_info);
      }
      if (statusChange?.reopen)
        await rows(em, `SELECT set_config('lhcms.case_reopen', 'on', true)`);
      const row = await this.repo.update(
        em,
        actor.labId,
        id,
        await this.phi.encrypt(actor.labId, changes),
      );
      if (!row) throw CasesError.notFound();
      await this.auditWrite(em, actor, id, 'update', changes, current, [
        current.patient_info,
        changes.patient_info,
      ]);
      // Status and stage have events of their own. Values only for the catalogue's
      // `trail: 'value'` columns (never PHI); names for the others.
      const changed: ChangedField[] = Object.keys(changes)
        .filter((c) => !TRAIL_OMITTED_COLUMNS.has(c) && c !== 'status' && c !== 'stage')
        .map((c) => {
          const f = wireName(c);
          return TRAIL_VALUE_COLUMNS.has(c)
            ? {
                field: f,
                from: (current as unknown as Record<string, unknown>)[c],
                to: changes[c as keyof CaseValues],
              }
            : { field: f };
        });
      if (changed.length > 0) {
        await this.event(em, actor, {
          caseId: id,
          type: 'updated',
          changedFields: changed,
          reasonText: body.reason,
        });
      }
      if (statusChange) {
        await this.event(em, actor, {
          caseId: id,
          type: statusChange.reopen ? 'reopened' : 'status_changed',
          fromStatus: current.status,
          toStatus: changes.status,
          fromStage: current.stage,
          toStage: row.stage,
          reasonText: body.reason,
        });
      }
      return toCaseResponse(await this.plain(actor.labId, row));
    });
  }

  async changeStatus(
    actor: CaseActor,
    id: number,
    status: CaseStatus,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.lock(em, actor, id, opts);
      if (current.status === status) {
        await this.auditWrite(em, actor, id, 'status_change', {}, current, [current.patient_info]);
        return toCaseResponse(current);
      }
      const t = this.transition(actor, current, status, reason);
      if (t.reopen) await rows(em, `SELECT set_config('lhcms.case_reopen', 'on', true)`);
      const changes: Partial<CaseValues> = { status };
      if (t.entersProduction) changes.stage = await this.firstStage(em, actor.labId);
      const row = await this.repo.update(em, actor.labId, id, changes);
      if (!row) throw CasesError.notFound();
      await this.auditWrite(em, actor, id, 'status_change', changes, current, [
        current.patient_info,
      ]);
      await this.event(em, actor, {
        caseId: id,
        type: t.reopen ? 'reopened' : 'status_changed',
        fromStatus: current.status,
        toStatus: status,
        fromStage: current.stage,
        toStage: row.stage,
        reasonText: reason,
      });
      return toCaseResponse(await this.plain(actor.labId, row));
    });
  }

  /**
   * Checks a status move (409 with the allowed next states; 403 for a reopen
   * without case:reopen; 400 without a required reason) and says what it
   * implies: a case entering production for the first time starts at the
   * lab's first stage.
   */
  private transition(
    actor: CaseActor,
    current: CaseRow,
    to: CaseStatus,
    reason: string | undefined,
  ) {
    const v = checkTransition(current.status, to, current.held_from_status, true);
    if (!v.ok) {
      throw CasesError.illegalTransition(
        current.status,
        to,
        allowedNext(current.status, current.held_from_status, actor.canReopen),
      );
    }
    if (v.reopen && !actor.canReopen) throw AuthError.missingPermission('case:reopen');
    if (v.reasonRequired && !reason) {
      throw CasesError.reasonRequired(
        v.reopen ? 'reopen a completed case' : `move a case to ${to}`,
      );
    }
    return { reopen: v.reopen, entersProduction: to === 'in_progress' && current.stage === null };
  }

  private async firstStage(em: EntityManager, labId: string): Promise<string> {
    return (await this.settings.get(em, labId)).stages[0];
  }

  async changeStage(
    actor: CaseActor,
    id: number,
    stage: string,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.lock(em, actor, id, opts);
      if (current.stage === stage) {
        await this.auditWrite(em, actor, id, 'update', {}, current, [current.patient_info]);
        return toCaseResponse(current);
      }
      const { stages } = await this.settings.get(em, actor.labId);
      const v = checkStage(stages, current.status, current.stage, stage);
      if (!v.ok) {
        throw new CasesError(
          CasesErrorCode.InvalidStage,
          v.why === 'not_in_progress'
            ? `The stage can change only while the case is in_progress (it is ${current.status})`
            : `Unknown stage; this lab's stages: ${stages.join(', ')}`,
          { stages },
        );
      }
      if (v.backward && !reason)
        throw CasesError.reasonRequired('move a case back to an earlier stage');
      const row = await this.repo.update(em, actor.labId, id, { stage });
      if (!row) throw CasesError.notFound();
      await this.auditWrite(em, actor, id, 'update', { stage }, current, [current.patient_info]);
      await this.event(em, actor, {
        caseId: id,
        type: 'stage_changed',
        fromStage: current.stage,
        toStage: stage,
        reasonText: reason,
      });
      return toCaseResponse(await this.plain(actor.labId, row));
    });
  }

  async remove(actor: CaseActor, id: number, opts: WriteOptions = {}): Promise<void> {
    await this.db.withLab(actor.labId, async (em) => {
      const current = await this.lock(em, actor, id, opts);
      if (!(await this.repo.softDelete(em, actor.labId, id))) throw CasesError.notFound();
      await this.event(em, actor, { caseId: id, type: 'deleted' });
      await this.auditWrite(em, actor, id, 'delete', {}, current, [current.patient_info]);
    });
  }

  /**
   * The seed's bulk_update_case_status, done right: every case gets the
   * lifecycle rules and its own transaction and event; the answer reports
   * each case (a failure does not undo the others).
   */
  async bulkStatus(actor: CaseActor, ids: number[], status: CaseStatus, reason?: string) {
    const results: BulkResultItem[] = [];
    const notFound: number[] = [];
    for (const id of ids) {
      try {
        const c = await this.changeStatus(actor, id, status, reason);
        results.push({ id, ok: true, status: c.status, version: c.version });
      } catch (err) {
        if (!(err instanceof CasesError) && !(err instanceof AuthError)) throw err;
        const details = (err.details ?? {}) as { allowed_transitions?: string[] };
        if (err.code === CasesErrorCode.CaseNotFound) notFound.push(id);
        results.push({
          id,
          ok: false,
          code:
            err instanceof AuthError
              ? 403
              : err.code === CasesErrorCode.CaseNotFound
                ? 404
                : err.code === CasesErrorCode.IllegalTransition
                  ? 409
                  : 400,
          error: err.message,
          ...(details.allowed_transitions
            ? { allowed_transitions: details.allowed_transitions }
            : {}),
        });
      }
    }
    // Ids of other labs among them: a security event for each owning lab (the answer is the same).
    await this.audit.recordCrossLabAttempts(notFound);
    const succeeded = results.filter((r) => r.ok).length;
    return { succeeded, failed: results.length - succeeded, results };
  }

  // ---- lab settings ------------------------------------------------------------

  getSettings(actor: CaseActor): Promise<LabSettings> {
    return this.db.read(actor.labId, (em) => this.settings.get(em, actor.labId));
  }

  async saveSettings(actor: CaseActor, stages: string[]): Promise<LabSettings> {
    return this.db.withLab(actor.labId, async (em) => {
      await this.settings.save(em, actor.labId, stages, actor.userId);
      return this.settings.get(em, actor.labId);
    });
  }

  private changesOf(current: CaseRow, body: CaseUpdateBody): Partial<CaseValues> {
    const changes: Partial<CaseValues> = {};
    const set = <K extends keyof CaseValues>(
      col: K,
      next: CaseValues[K] | undefined,
      now: unknown,
    ) => {
      if (next === undefined) return;
      if (!sameJson(next, now)) changes[col] = next;
    };
    set('case_name', body.case_name, current.case_name);
    set('description', body.description, current.description);
    set('priority', body.priority, current.priority);
    set('status', body.status, current.status);
    set('assigned_to', body.assigned_to, current.assigned_to);
    set('due_date', body.due_date, current.due_date);
    set('rush_order', body.rush_order, current.rush_order);
    set('special_instructions', body.special_instructions, current.special_instructions);
    set('case_type', body.case_type, current.case_type);
    // Replaced wholesale, as in the original (no merge).
    set('patient_info', body.patient_info, current.patient_info);
    const details = detailsOf(current);
    for (const kind of DETAIL_KINDS) {
      const v = body[kind];
      if (v === undefined) continue;
      // An empty object was ignored by the original; null clears.
      if (v !== null && Object.keys(v).length === 0) continue;
      set(DETAIL_COLUMN[kind], v, details[kind]);
    }
    return changes;
  }
}
