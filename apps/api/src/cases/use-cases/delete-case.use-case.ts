import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { CasesError } from '../../case-model';
import { CasesRepository } from '../cases.repository';
import { CaseWrites } from './case-writes';
import type { CaseActor, WriteOptions } from './case-use-case.types';

/** Soft delete: the case leaves the API and stays for retention and audit. */
@Injectable()
export class DeleteCase {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly cases: CaseWrites,
  ) {}

  async run(actor: CaseActor, id: number, opts: WriteOptions = {}): Promise<void> {
    await this.db.withLab(actor.labId, async (em) => {
      const current = await this.cases.lock(em, actor, id, opts);
      if (!(await this.repo.softDelete(em, actor.labId, id))) throw CasesError.notFound();
      await this.cases.event(em, actor, { caseId: id, type: 'deleted' });
      await this.cases.auditWrite(em, actor, id, 'delete', {}, current, [current.patient_info]);
    });
  }
}
