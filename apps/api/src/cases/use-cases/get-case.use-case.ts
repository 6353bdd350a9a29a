import { Injectable } from '@nestjs/common';
import { rows, TenantDb } from '@lhcms/database';
import { PhiCipher, TEXT_BINDING } from '../../encryption';
import { CaseEventsRepository } from '../case-events.repository';
import { CasesError } from '../../case-model';
import { CasesRepository, remakesCarried } from '../cases.repository';
import type { CaseResponse } from '../dto/case.response';
import { CaseWrites } from './case-writes';
import type { CaseActor } from './case-use-case.types';

/** One case of the actor's lab (by id or by case number), and its timeline. */
@Injectable()
export class GetCase {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly events: CaseEventsRepository,
    private readonly phi: PhiCipher,
    private readonly cases: CaseWrites,
  ) {}

  // The answer is built in the read's transaction: the case comes with its remakes in one
  // statement, which travels with the transaction's start (TenantDb.read).
  async byId(actor: CaseActor, id: number): Promise<CaseResponse> {
    return this.db.read(actor.labId, async (em) => {
      const row = await this.repo.findForAnswer(em, actor.labId, id);
      if (!row) throw CasesError.notFound();
      return this.cases.response(actor.labId, row, em, remakesCarried([row]));
    });
  }

  async byNumber(actor: CaseActor, caseNumber: string): Promise<CaseResponse> {
    return this.db.read(actor.labId, async (em) => {
      const row = await this.repo.findByNumber(em, actor.labId, caseNumber);
      if (!row) throw CasesError.notFound();
      return this.cases.response(actor.labId, row, em);
    });
  }

  /** The timeline of a live case, oldest first (a deleted case's history stays, but is not served). */
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
            ? await this.phi.decryptText(actor.labId, TEXT_BINDING.eventReason(), e.reason)
            : null,
        });
      }
      return { events };
    });
  }
}
