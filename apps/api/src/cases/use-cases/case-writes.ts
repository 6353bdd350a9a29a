import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type Db, rows, TenantDb } from '@lhcms/database';
import { type CaseTiming, LabSchedule } from '../../schedule';
import { AuditService } from '../../audit';
import { PhiCipher, TEXT_BINDING } from '../../encryption';
import { AuthError } from '../../ums-gateway';
import { allowedNext, checkTransition } from '../case-lifecycle';
import { CaseEventsRepository, type NewCaseEvent } from '../case-events.repository';
import { CasesError } from '../../case-model';
import { CasesRepository, remakesCarried } from '../cases.repository';
import {
  type CaseResponse,
  type CaseRow,
  type StoredCaseRow,
  toCaseResponse,
} from '../dto/case.response';
import type { CaseStatus } from '../../case-model';
import { LabSettingsRepository } from '../lab-settings.repository';
import type { CaseActor, WriteOptions } from './case-use-case.types';

/** What a status move implies (see `CaseWrites.transition`). */
export interface Transition {
  reopen: boolean;
  entersProduction: boolean;
}

/**
 * What the case use cases share, in one place: decryption of stored rows,
 * the lock-and-If-Match of a write, the lifecycle check of a status move,
 * and the timeline event and audit row a write records in its own
 * transaction.
 */
@Injectable()
export class CaseWrites {
  constructor(
    private readonly repo: CasesRepository,
    private readonly events: CaseEventsRepository,
    private readonly settings: LabSettingsRepository,
    private readonly phi: PhiCipher,
    private readonly audit: AuditService,
    private readonly db: TenantDb,
    private readonly schedule: LabSchedule,
  ) {}

  private readonly stageCache = new Map<string, { until: number; stages: readonly string[] }>();

  /** A stored row with its PHI decrypted. */
  plain(labId: string, row: StoredCaseRow): Promise<CaseRow> {
    return this.phi.decrypt(labId, row) as Promise<CaseRow>;
  }

  /** A stored row as the API answers it. */
  /**
   * A stored row as the API answers it. `em`: the caller's open transaction,
   * if any — the schedule's flags then read through it instead of taking a
   * second connection while holding one (which, under concurrency, waits for
   * the pool).
   */
  /** `remakes`: the case's remakes when the caller read them already (in the same transaction). */
  async response(
    labId: string,
    row: StoredCaseRow,
    em?: Db,
    remakes?: Map<number, number[]>,
  ): Promise<CaseResponse> {
    return this.answer(labId, await this.plain(labId, row), em, remakes ?? remakesCarried([row]));
  }

  async responses(labId: string, list: StoredCaseRow[], em?: Db): Promise<CaseResponse[]> {
    const timing = await this.timing(labId, em);
    const remakes =
      remakesCarried(list) ??
      (await this.remakes(
        labId,
        list.map((r) => r.id),
        em,
      ));
    return (await this.phi.decryptAll(labId, list)).map((r) =>
      toCaseResponse(r as CaseRow, timing(r as CaseRow), remakes.get(r.id)),
    );
  }

  /** A decrypted row as the API answers it, with the schedule's flags of today and its remakes. */
  async answer(
    labId: string,
    row: CaseRow,
    em?: Db,
    known?: Map<number, number[]>,
  ): Promise<CaseResponse> {
    const remakes = known ?? (await this.remakes(labId, [row.id], em));
    return toCaseResponse(row, (await this.timing(labId, em))(row), remakes.get(row.id));
  }

  /** The remakes of the answered cases: one query for all of them, in the caller's transaction if any. */
  private remakes(labId: string, ids: number[], em?: Db): Promise<Map<number, number[]>> {
    if (ids.length === 0) return Promise.resolve(new Map<number, number[]>());
    return em
      ? this.repo.remakesOf(em, labId, ids)
      : this.db.read(labId, (tx) => this.repo.remakesOf(tx, labId, ids));
  }

  private async timing(labId: string, em?: Db): Promise<(row: CaseRow) => CaseTiming> {
    const clock = await this.schedule.clock(labId, new Date(), em);
    const stages = await this.stageList(labId, em);
    return (row) => clock.timing(row, stages);
  }

  /** The lab's stage list for the at-risk flag (and filter), cached per replica for 30 s. */
  async stageList(labId: string, em?: Db): Promise<readonly string[]> {
    const hit = this.stageCache.get(labId);
    if (hit && hit.until > Date.now()) return hit.stages;
    const { stages } = em
      ? await this.settings.get(em, labId)
      : await this.db.read(labId, (tx) => this.settings.get(tx, labId));
    this.stageCache.set(labId, { until: Date.now() + 30_000, stages });
    return stages;
  }

  /**
   * The audit row of a write, in the write's own transaction (both commit or
   * neither). `changes` and `before` are the plaintext views: the audit keeps
   * names only for PHI fields and keys the patient, never stores it.
   */
  auditWrite(
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

  /**
   * What a new case records in its own transaction — its `created` timeline
   * event (a remake's names the original and carries the notes) and its
   * audit row — and its response, read in the same transaction (its remakes
   * take no second connection).
   */
  async recordCreated(
    em: EntityManager,
    actor: CaseActor,
    created: StoredCaseRow,
    plain: Record<string, unknown>,
    patient: unknown,
    remake?: { of: number; notes?: string },
  ): Promise<CaseResponse> {
    await this.event(em, actor, {
      caseId: created.id,
      type: 'created',
      toStatus: 'pending',
      ...(remake ? { relatedCaseId: remake.of, reasonText: remake.notes } : {}),
    });
    await this.auditWrite(
      em,
      actor,
      created.id,
      'create',
      { ...plain, case_number: created.case_number },
      undefined,
      [patient],
    );
    // A case just created has no remakes yet.
    return this.response(actor.labId, created, em, new Map());
  }

  /** A timeline event of the actor's write; its reason is stored encrypted. */
  async event(
    em: EntityManager,
    actor: CaseActor,
    e: Omit<NewCaseEvent, 'labId' | 'actorUserId' | 'requestId'> & { reasonText?: string },
  ): Promise<void> {
    const { reasonText, ...rest } = e;
    await this.events.insert(em, {
      ...rest,
      labId: actor.labId,
      actorUserId: actor.userId,
      requestId: actor.requestId,
      reason: reasonText
        ? await this.phi.encryptText(actor.labId, TEXT_BINDING.eventReason(), reasonText)
        : null,
    });
  }

  /** Locks the live case for the rest of the transaction and checks If-Match. */
  async lock(
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
   * Checks a status move (409 with the allowed next states; 403 for a reopen
   * without case:reopen; 400 without a required reason) and says what it
   * implies: a case entering production for the first time starts at the
   * lab's first stage.
   */
  transition(
    actor: CaseActor,
    current: CaseRow,
    to: CaseStatus,
    reason: string | undefined,
  ): Transition {
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

  /**
   * Lets this transaction move a completed case back (the database trigger
   * refuses it otherwise); only after `transition` said it is a reopen.
   */
  async allowReopen(em: EntityManager): Promise<void> {
    await rows(em, `SELECT set_config('lhcms.case_reopen', 'on', true)`);
  }

  /** The lab's first production stage (where a case entering in_progress starts). */
  async firstStage(em: EntityManager, labId: string): Promise<string> {
    return (await this.settings.get(em, labId)).stages[0];
  }
}
