import { Injectable } from '@nestjs/common';
import { type Db, rows, TenantDb } from '@lhcms/database';
import { PhiCipher } from '../../encryption';
import { LabSchedule } from '../../schedule';
import { CasesError } from '../../case-model';
import type { CaseRemakeBody, CaseStatus } from '../../case-model';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { CasesRepository, type CaseValues } from '../cases.repository';
import type { CaseResponse } from '../dto/case.response';
import { CaseWrites } from './case-writes';
import { nextCaseNumber } from './create-case.use-case';
import type { CaseActor } from './case-use-case.types';

/**
 * A remake (issue 16): a new case that makes an existing one again, linked to
 * it (`remake_of`), in one transaction with its audit row and an event in
 * each timeline.
 *
 * What it copies is the prescription, as the lab holds it: doctor, product,
 * case type, case name, description, priority, special instructions, the
 * patient and the prescription objects (all four columns as stored, so
 * nothing the original had is lost). What starts afresh: status `pending`, no
 * stage, no assignee (the lab assigns the new work), a new case number, and
 * the dates: the due date comes from the lab's calendar from now — with the
 * rush turnaround when the original was a rush order or the lab's turnaround
 * says `remake_uses_rush` — never the original's (long past, usually).
 * `rush_order` stays the original's (it is what the doctor ordered and pays
 * for; whether the remake is charged is `remake_chargeable`).
 *
 * The doctor directory is not asked again: the doctor and product were
 * checked when the original was created, and a remake redoes that order.
 */
@Injectable()
export class RemakeCase {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly phi: PhiCipher,
    private readonly cases: CaseWrites,
    private readonly schedule: LabSchedule,
  ) {}

  async run(actor: CaseActor, originalId: number, body: CaseRemakeBody): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      await this.checkRemakeable(em, actor, originalId);
      if (!(await this.schedule.remakeReason(actor.labId, body.reason_code, em))) {
        throw new ValidationFailedError({
          reason_code: "is not a code of the lab's remake reasons",
        });
      }
      const stored = await this.repo.findById(em, actor.labId, originalId);
      if (!stored) throw CasesError.notFound();
      const original = await this.cases.plain(actor.labId, stored);
      const dates = await this.schedule.plan(
        actor.labId,
        {
          caseType: original.case_type,
          productId: original.product_id,
          rush: original.rush_order,
          remake: true,
          receivedAt: new Date(),
        },
        em,
      );
      const plain: Omit<CaseValues, 'case_number'> = {
        doctor_id: original.doctor_id,
        product_id: original.product_id,
        case_type: original.case_type,
        status: 'pending',
        case_name: original.case_name,
        description: original.description,
        priority: original.priority,
        created_by: actor.userId,
        assigned_to: null,
        due_date: dates.due_date,
        ship_by: dates.ship_by,
        due_date_feasible: dates.due_date_feasible,
        rush_order: original.rush_order,
        special_instructions: original.special_instructions,
        patient_info: original.patient_info,
        fixed_prosthetic_details: original.fixed_prosthetic_details,
        denture_details: original.denture_details,
        night_guard_details: original.night_guard_details,
        implant_details: original.implant_details,
        patient_id_bidx: this.phi.patientIndex(actor.labId, original.patient_info),
        stage: null,
        remake_of: original.id,
        remake_reason: body.reason_code,
        remake_responsibility: body.responsibility,
        remake_chargeable: body.chargeable,
      };
      const created = await this.repo.insert(em, actor.labId, {
        ...(await this.phi.encrypt(actor.labId, plain)),
        case_number: await nextCaseNumber(em, this.repo, actor),
      });
      // Both timelines, the new case's first: the notes (free text, may carry PHI) are each
      // event's encrypted reason.
      const response = await this.cases.recordCreated(
        em,
        actor,
        created,
        plain,
        original.patient_info,
        { of: original.id, notes: body.notes },
      );
      await this.cases.event(em, actor, {
        caseId: original.id,
        type: 'remake_created',
        relatedCaseId: created.id,
        reasonText: body.notes,
      });
      return response;
    });
  }

  /**
   * 404 for a case the lab does not have (another lab's is the same), 409 for
   * a cancelled or deleted one. The original is share-locked until commit, so
   * it cannot be cancelled or deleted while its remake is written.
   */
  private async checkRemakeable(em: Db, actor: CaseActor, id: number): Promise<void> {
    const [found] = await rows<{ status: CaseStatus; deleted: boolean }>(
      em,
      `SELECT status, deleted_at IS NOT NULL AS deleted FROM cases
       WHERE id = $1 AND lab_id = $2 FOR SHARE`,
      [id, actor.labId],
    );
    if (!found) throw CasesError.notFound();
    if (found.deleted) throw CasesError.notRemakeable('deleted');
    if (found.status === 'cancelled') throw CasesError.notRemakeable('cancelled');
  }
}
