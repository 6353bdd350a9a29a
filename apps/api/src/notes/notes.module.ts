import { Module } from '@nestjs/common';
import { CasesModule } from '../cases';
import { EncryptionModule } from '../encryption';
import { NotesController } from './notes.controller';
import { NotesRepository } from './notes.repository';
import { NOTE_USE_CASES } from './use-cases';

/** Case notes (issue 20): the routes, the use cases and the SQL of case_notes and their revisions. */
@Module({
  imports: [EncryptionModule, CasesModule],
  controllers: [NotesController],
  providers: [NotesRepository, ...NOTE_USE_CASES],
})
export class NotesModule {}
