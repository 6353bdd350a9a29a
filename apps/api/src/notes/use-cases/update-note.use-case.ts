import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import type { WriteOptions } from '../../cases';
import type { NoteResponse } from '../dto/note.response';
import type { NoteUpdateBody } from '../dto/note.schemas';
import { NotesRepository } from '../notes.repository';
import { NoteCrypto } from './note-crypto';
import type { NoteActor } from './note-actor';
import { NoteWrites, requireText } from './note-writes';

/**
 * Edits a note (its author, or a lab admin): the new text and/or visibility
 * become the next revision; the earlier texts stay in `case_note_revisions`
 * for lab admins. A body that changes nothing writes nothing (still audited:
 * the answer discloses the note).
 */
@Injectable()
export class UpdateNote {
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
    body: NoteUpdateBody,
    opts: WriteOptions = {},
  ): Promise<NoteResponse> {
    if (body.text !== undefined) requireText('text', body.text);
    return this.db.withLab(actor.labId, async (em) => {
      const note = await this.writes.lockForChange(em, actor, caseId, noteId, opts);
      const current = await this.crypto.response(actor.labId, note);
      const text = body.text ?? current.text;
      const visibility = body.visibility ?? current.visibility;
      const changed: Array<{ field: string; from?: unknown; to?: unknown }> = [];
      if (text !== current.text) changed.push({ field: 'text' });
      if (visibility !== current.visibility)
        changed.push({ field: 'visibility', from: current.visibility, to: visibility });
      if (changed.length === 0) {
        await this.writes.record(em, actor, noteId, 'update', []);
        return current;
      }
      const revision = note.revision + 1;
      await this.repo.insertRevision(em, {
        labId: actor.labId,
        noteId,
        revision,
        authorId: actor.userId,
        visibility,
        body: await this.crypto.encryptRevision(actor.labId, noteId, revision, text),
      });
      const stored = await this.repo.update(em, actor.labId, noteId, {
        body: await this.crypto.encryptBody(actor.labId, noteId, text),
        visibility,
        revision,
        updatedBy: actor.userId,
      });
      await this.writes.record(em, actor, noteId, 'update', changed);
      await this.writes.event(em, actor, caseId, noteId, 'note_edited');
      return this.crypto.response(actor.labId, stored);
    });
  }
}
