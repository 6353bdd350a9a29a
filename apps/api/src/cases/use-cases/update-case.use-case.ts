import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { PhiCipher } from '../../encryption';
import { LabSchedule } from '../../schedule';
import type { ChangedField } from '../case-events.repository';
import {
  DETAIL_COLUMN,
  TRAIL_OMITTED_COLUMNS,
  TRAIL_VALUE_COLUMNS,
  wireName,
} from '../../case-model';
import { CasesError } from '../../case-model';
import { CasesRepository, type CaseValues } from '../cases.repository';
import { type CaseResponse, type CaseRow, detailsOf } from '../dto/case.response';
import { type CaseUpdateBody, DETAIL_KINDS } from '../../case-model';
import { CaseWrites } from './case-writes';
import type { CaseActor, WriteOptions } from './case-use-case.types';

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Partial update (the original's PUT); `null` clears a nullable field.
 * Unchanged fields leave updated_at and the version alone. A status in the
 * body follows the lifecycle rules; a due-date change needs a reason.
 */
@Injectable()
export class UpdateCase {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly phi: PhiCipher,
    private readonly cases: CaseWrites,
    private readonly schedule: LabSchedule,
  ) {}

  run(
    actor: CaseActor,
    id: number,
    body: CaseUpdateBody,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.cases.lock(em, actor, id, opts);
      const changes = changesOf(current, body);
      if (Object.keys(changes).length === 0) {
        // Also audited: the response discloses the case.
        await this.cases.auditWrite(em, actor, id, 'update', {}, current, [current.patient_info]);
        return this.cases.answer(actor.labId, current);
      }
      if (changes.due_date !== undefined && !body.reason)
        throw CasesError.reasonRequired('change the due date');
      if (changes.due_date !== undefined) {
        // A reschedule: ship-by and feasibility follow the new date under today's calendar.
        const plan =
          changes.due_date === null
            ? { ship_by: null, due_date_feasible: null }
            : await this.schedule.plan(
                actor.labId,
                {
                  caseType: changes.case_type ?? current.case_type,
                  productId: current.product_id,
                  rush: changes.rush_order ?? current.rush_order,
                  receivedAt: new Date(current.created_at),
                  dueDate: changes.due_date,
                },
                em,
              );
        changes.ship_by = plan.ship_by;
        changes.due_date_feasible = plan.due_date_feasible;
      }
      const statusChange =
        changes.status !== undefined
          ? this.cases.transition(actor, current, changes.status, body.reason)
          : undefined;
      if (statusChange?.entersProduction)
        changes.stage = await this.cases.firstStage(em, actor.labId);
      if (changes.patient_info !== undefined) {
        changes.patient_id_bidx = this.phi.patientIndex(actor.labId, changes.patient_info);
      }
      if (statusChange?.reopen) await this.cases.allowReopen(em);
      const row = await this.repo.update(
        em,
        actor.labId,
        id,
        await this.phi.encrypt(actor.labId, changes),
      );
      if (!row) throw CasesError.notFound();
      await this.cases.auditWrite(em, actor, id, 'update', changes, current, [
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
        await this.cases.event(em, actor, {
          caseId: id,
          type: 'updated',
          changedFields: changed,
          reasonText: body.reason,
        });
      }
      if (statusChange) {
        await this.cases.event(em, actor, {
          caseId: id,
          type: statusChange.reopen ? 'reopened' : 'status_changed',
          fromStatus: current.status,
          toStatus: changes.status,
          fromStage: current.stage,
          toStage: row.stage,
          reasonText: body.reason,
        });
      }
      return this.cases.response(actor.labId, row);
    });
  }
}

/** The body's fields that differ from the current case, as column values. */
function changesOf(current: CaseRow, body: CaseUpdateBody): Partial<CaseValues> {
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
