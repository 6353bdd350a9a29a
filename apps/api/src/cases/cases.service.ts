import { Injectable } from '@nestjs/common';
import type { CaseResponse } from './dto/case.response';
import type { CaseInputBody, CaseRemakeBody, CaseStatus, CaseUpdateBody } from '../case-model';
import type { ListQuery } from './dto/list-query';
import type { LabSettings } from './lab-settings.repository';
import {
  BulkStatus,
  type CaseActor,
  type CaseCursorPage,
  type CasePage,
  ChangeStatus,
  CreateCase,
  type CreateResult,
  DeleteCase,
  GetCase,
  LabSettingsUseCase,
  ListCases,
  MoveStage,
  RemakeCase,
  UpdateCase,
  type WriteOptions,
} from './use-cases';

export type {
  BulkResultItem,
  CaseActor,
  CaseCursorPage,
  CasePage,
  CreateResult,
  WriteOptions,
} from './use-cases';

/**
 * The case operations behind one name: a thin façade over the use cases in
 * `use-cases/` (one file each). Every write runs in one lab-scoped
 * transaction (TenantDb): a change, its case_events row and its audit row
 * commit together.
 */
@Injectable()
export class CasesService {
  constructor(
    private readonly listCases: ListCases,
    private readonly getCase: GetCase,
    private readonly createCase: CreateCase,
    private readonly updateCase: UpdateCase,
    private readonly changeStatusOf: ChangeStatus,
    private readonly moveStage: MoveStage,
    private readonly deleteCase: DeleteCase,
    private readonly bulk: BulkStatus,
    private readonly labSettings: LabSettingsUseCase,
    private readonly remakeCase: RemakeCase,
  ) {}

  /** Page defaults from configuration. */
  get pageDefaults(): { perPage: number; maxPerPage: number } {
    return this.listCases.pageDefaults;
  }

  list(actor: CaseActor, q: ListQuery): Promise<CasePage | CaseCursorPage> {
    return this.listCases.run(actor, q);
  }

  get(actor: CaseActor, id: number): Promise<CaseResponse> {
    return this.getCase.byId(actor, id);
  }

  getByNumber(actor: CaseActor, caseNumber: string): Promise<CaseResponse> {
    return this.getCase.byNumber(actor, caseNumber);
  }

  timeline(actor: CaseActor, id: number) {
    return this.getCase.timeline(actor, id);
  }

  create(actor: CaseActor, body: CaseInputBody, idempotencyKey?: string): Promise<CreateResult> {
    return this.createCase.run(actor, body, idempotencyKey);
  }

  /** A new case that makes case `id` again (201; the new case). */
  remake(actor: CaseActor, id: number, body: CaseRemakeBody): Promise<CaseResponse> {
    return this.remakeCase.run(actor, id, body);
  }

  update(
    actor: CaseActor,
    id: number,
    body: CaseUpdateBody,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.updateCase.run(actor, id, body, opts);
  }

  changeStatus(
    actor: CaseActor,
    id: number,
    status: CaseStatus,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.changeStatusOf.run(actor, id, status, reason, opts);
  }

  changeStage(
    actor: CaseActor,
    id: number,
    stage: string,
    reason: string | undefined,
    opts: WriteOptions = {},
  ): Promise<CaseResponse> {
    return this.moveStage.run(actor, id, stage, reason, opts);
  }

  remove(actor: CaseActor, id: number, opts: WriteOptions = {}): Promise<void> {
    return this.deleteCase.run(actor, id, opts);
  }

  bulkStatus(actor: CaseActor, ids: number[], status: CaseStatus, reason?: string) {
    return this.bulk.run(actor, ids, status, reason);
  }

  getSettings(actor: CaseActor): Promise<LabSettings> {
    return this.labSettings.get(actor);
  }

  saveSettings(actor: CaseActor, stages: string[]): Promise<LabSettings> {
    return this.labSettings.save(actor, stages);
  }
}
