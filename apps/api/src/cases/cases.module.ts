import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EncryptionModule } from '../encryption/encryption.module';
import { CaseEntity } from './case.entity';
import { CaseEventsRepository } from './case-events.repository';
import { CasesController } from './cases.controller';
import { CasesRepository } from './cases.repository';
import { CasesService } from './cases.service';
import { IdempotencyRepository } from './idempotency.repository';
import { LabSettingsController } from './lab-settings.controller';
import { LabSettingsRepository } from './lab-settings.repository';
import { LinksHubClient } from './linkshub/linkshub.client';

@Module({
  imports: [TypeOrmModule.forFeature([CaseEntity]), EncryptionModule],
  controllers: [CasesController, LabSettingsController],
  providers: [
    CasesService,
    CasesRepository,
    CaseEventsRepository,
    LabSettingsRepository,
    IdempotencyRepository,
    LinksHubClient,
  ],
  exports: [CasesService],
})
export class CasesModule {}
