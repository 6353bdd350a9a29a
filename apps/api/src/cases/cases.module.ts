import { Module } from '@nestjs/common';
import { ScheduleModule } from '../schedule';
import { EncryptionModule } from '../encryption';
import { CaseEventsRepository } from './case-events.repository';
import { CaseSubresources } from './case-subresources';
import { CasesController } from './cases.controller';
import { CaseRemakesController } from './case-remakes.controller';
import { CasesRepository } from './cases.repository';
import { CasesService } from './cases.service';
import { IdempotencyRepository } from './idempotency.repository';
import { LabSettingsController } from './lab-settings.controller';
import { LabSettingsRepository } from './lab-settings.repository';
import { LinksHubModule } from './linkshub/linkshub.client';
import { ReferenceDataController } from './reference-data/reference-data.controller';
import { CASE_USE_CASES } from './use-cases';

@Module({
  // No TypeORM repositories: the DataSource connects after boot (DatabaseConnector), and the
  // repositories here run SQL through TenantDb.
  imports: [EncryptionModule, LinksHubModule, ScheduleModule],
  controllers: [
    CasesController,
    CaseRemakesController,
    ReferenceDataController,
    LabSettingsController,
  ],
  providers: [
    CasesService,
    ...CASE_USE_CASES,
    CasesRepository,
    CaseEventsRepository,
    LabSettingsRepository,
    IdempotencyRepository,
    CaseSubresources,
  ],
  exports: [CasesService, CaseSubresources],
})
export class CasesModule {}
