import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { LabSettingsRepository, type LabSettings } from '../lab-settings.repository';
import type { CaseActor } from './case-use-case.types';

/** The lab's settings (its ordered production stages): read, and replace. */
@Injectable()
export class LabSettingsUseCase {
  constructor(
    private readonly db: TenantDb,
    private readonly settings: LabSettingsRepository,
  ) {}

  get(actor: CaseActor): Promise<LabSettings> {
    return this.db.read(actor.labId, (em) => this.settings.get(em, actor.labId));
  }

  save(actor: CaseActor, stages: string[]): Promise<LabSettings> {
    return this.db.withLab(actor.labId, async (em) => {
      await this.settings.save(em, actor.labId, stages, actor.userId);
      return this.settings.get(em, actor.labId);
    });
  }
}
