import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import type { WriteOptions } from '../../cases';
import { NotesRepository } from '../notes.repository';
import { NoteCrypto } from './note-crypto';
import type { NoteActor } from './note-actor';
import { NoteWrites, requireText } from './note-writes';

/**
 * Soft-deletes a note (its author, or a lab admin) with a reason. The reason
 * is free text and may name the patient: it is stored encrypted, kept out of
 * the audit row, the timeline and the logs, and shown only to lab admins
 * (the note's history). The note and its revisions stay until the case's
 * retention purge.
 */
@Injectable()
export class DeleteNote {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: NotesRepository,
    private readonly crypto: NoteCrypto,
    private readonly writes: NoteWrites,
  ) {}

  async run(
    actor: NoteActor,
    caseId: number,
    noteId: number,
    reason: string,
    opts: WriteOptions = {},
  ): Promise<void> {
    requireText('reason', reason);
    return this.db.withLab(actor.labId, async (em) => {
      await this.writes.lockForChange(em, actor, caseId, noteId, opts);
      await this.repo.softDelete(
        em,
        actor.labId,
        noteId,
        actor.userId,
        await this.crypto.encryptReason(actor.labId, noteId, reason),
      );
      await this.writes.record(em, actor, noteId, 'delete', [{ field: 'reason' }]);
      await this.writes.event(em, actor, caseId, noteId, 'note_deleted');
    });
  }
}
