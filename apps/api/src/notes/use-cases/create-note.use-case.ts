import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { CaseSubresources } from '../../cases';
import type { NoteResponse } from '../dto/note.response';
import type { NoteInputBody } from '../dto/note.schemas';
import { NotesRepository } from '../notes.repository';
import { NoteCrypto } from './note-crypto';
import type { NoteActor } from './note-actor';
import { NoteWrites, requireText } from './note-writes';

/** A new note on a live case of the actor's lab: revision 1, its audit row and timeline entry. */
@Injectable()
export class CreateNote {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: NotesRepository,
    private readonly cases: CaseSubresources,
    private readonly crypto: NoteCrypto,
    private readonly writes: NoteWrites,
  ) {}

  async run(actor: NoteActor, caseId: number, body: NoteInputBody): Promise<NoteResponse> {
    const text = requireText('text', body.text);
    const visibility = body.visibility ?? 'internal';
    return this.db.withLab(actor.labId, async (em) => {
      await this.cases.requireLiveCase(em, actor.labId, caseId);
      const id = await this.repo.nextId(em);
      const stored = await this.repo.insert(em, {
        id,
        labId: actor.labId,
        caseId,
        authorId: actor.userId,
        visibility,
        body: await this.crypto.encryptBody(actor.labId, id, text),
      });
      await this.repo.insertRevision(em, {
        labId: actor.labId,
        noteId: id,
        revision: 1,
        authorId: actor.userId,
        visibility,
        body: await this.crypto.encryptRevision(actor.labId, id, 1, text),
      });
      await this.writes.record(em, actor, id, 'create', [
        { field: 'case_id', to: caseId },
        { field: 'text' },
        { field: 'visibility', to: visibility },
      ]);
      await this.writes.event(em, actor, caseId, id, 'note_created');
      return this.crypto.response(actor.labId, stored);
    });
  }
}
