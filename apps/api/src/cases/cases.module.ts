import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EncryptionModule } from '../encryption/encryption.module';
import { CaseEntity } from './case.entity';
import { CasesController } from './cases.controller';
import { CasesRepository } from './cases.repository';
import { CasesService } from './cases.service';
import { LinksHubClient } from './linkshub/linkshub.client';

@Module({
  imports: [TypeOrmModule.forFeature([CaseEntity]), EncryptionModule],
  controllers: [CasesController],
  providers: [CasesService, CasesRepository, LinksHubClient],
  exports: [CasesService],
})
export class CasesModule {}
