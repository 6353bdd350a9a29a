import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { checkStage } from '../case-lifecycle';
import { CasesError, CasesErrorCode } from '../../case-model';
import { CasesRepository } from '../cases.repository';
import type { CaseResponse } from '../dto/case.response';
import { LabSettingsRepository } from '../lab-settings.repository';
import { CaseWrites } from './case-writes';
import type { CaseActor, WriteOptions } from './case-use-case.types';

/**
 * Moves an in-progress case to another of the lab's production stages:
 * forward freely, backward only with a reason.
 */
@Injectable()
export class MoveStage {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly settings: LabSettingsRepository,
    private readonly cases: CaseWrites,
  ) {}

  run(
    actor: CaseActor,
    id: number,
    stage: string,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.cases.lock(em, actor, id, opts);
      if (current.stage === stage) {
        await this.cases.auditWrite(em, actor, id, 'update', {}, current, [current.patient_info]);
        return this.cases.answer(actor.labId, current);
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
      await this.cases.auditWrite(em, actor, id, 'update', { stage }, current, [
        current.patient_info,
      ]);
      await this.cases.event(em, actor, {
        caseId: id,
        type: 'stage_changed',
        fromStage: current.stage,
        toStage: stage,
        reasonText: reason,
      });
      return this.cases.response(actor.labId, row);
    });
  }
}
