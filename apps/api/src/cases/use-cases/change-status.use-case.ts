import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { CasesError } from '../../case-model';
import { CasesRepository, type CaseValues } from '../cases.repository';
import type { CaseResponse } from '../dto/case.response';
import type { CaseStatus } from '../../case-model';
import { CaseWrites } from './case-writes';
import type { CaseActor, WriteOptions } from './case-use-case.types';

/**
 * A status move by the lifecycle rules (case-lifecycle.ts, checked here and
 * again by the database trigger). A case entering production for the first
 * time starts at the lab's first stage. Moving to the current status changes
 * nothing (and is audited: the answer discloses the case).
 */
@Injectable()
export class ChangeStatus {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly cases: CaseWrites,
  ) {}

  run(
    actor: CaseActor,
    id: number,
    status: CaseStatus,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.cases.lock(em, actor, id, opts);
      if (current.status === status) {
        await this.cases.auditWrite(em, actor, id, 'status_change', {}, current, [
          current.patient_info,
        ]);
        return this.cases.answer(actor.labId, current);
      }
      const t = this.cases.transition(actor, current, status, reason);
      if (t.reopen) await this.cases.allowReopen(em);
      const changes: Partial<CaseValues> = { status };
      if (t.entersProduction) changes.stage = await this.cases.firstStage(em, actor.labId);
      const row = await this.repo.update(em, actor.labId, id, changes);
      if (!row) throw CasesError.notFound();
      await this.cases.auditWrite(em, actor, id, 'status_change', changes, current, [
        current.patient_info,
      ]);
      await this.cases.event(em, actor, {
        caseId: id,
        type: t.reopen ? 'reopened' : 'status_changed',
        fromStatus: current.status,
        toStatus: status,
        fromStage: current.stage,
        toStage: row.stage,
        reasonText: reason,
      });
      return this.cases.response(actor.labId, row);
    });
  }
}
