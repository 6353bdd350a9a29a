import { Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { Inject } from '@nestjs/common';
import { CaseSubresources, encodeCursor } from '../../cases';
import type { NoteHistory, NotePage, NoteResponse } from '../dto/note.response';
import type { NoteListQuery } from '../dto/note-query';
import { NotesError } from '../notes.errors';
import { NotesRepository } from '../notes.repository';
import { NoteCrypto } from './note-crypto';
import type { NoteActor } from './note-actor';

/**
 * The reads: a case's live notes (oldest first, keyset pages), one live note,
 * and a note's history for lab admins (every revision's text, and the
 * deletion with its reason: a deleted note's history stays readable to them).
 * Each is audited as a disclosure by the route (`@Audited`, mode read).
 */
@Injectable()
export class ReadNotes {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: NotesRepository,
    private readonly cases: CaseSubresources,
    private readonly crypto: NoteCrypto,
  ) {}

  get pageDefaults(): { perPage: number; maxPerPage: number } {
    return { perPage: this.env.DEFAULT_PAGE_SIZE, maxPerPage: this.env.MAX_PAGE_SIZE };
  }

  list(actor: NoteActor, caseId: number, q: NoteListQuery): Promise<NotePage> {
    return this.db.read(actor.labId, async (db) => {
      await this.cases.requireLiveCase(db, actor.labId, caseId);
      const found = await this.repo.after(
        db,
        actor.labId,
        caseId,
        { visibility: q.visibility },
        q.cursor,
        q.limit + 1,
      );
      const more = found.length > q.limit;
      const page = more ? found.slice(0, q.limit) : found;
      const last = page[page.length - 1];
      return {
        notes: await Promise.all(page.map((n) => this.crypto.response(actor.labId, n))),
        next_cursor:
          more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
      };
    });
  }

  get(actor: NoteActor, caseId: number, noteId: number): Promise<NoteResponse> {
    return this.db.read(actor.labId, async (db) => {
      await this.cases.requireLiveCase(db, actor.labId, caseId);
      const note = await this.repo.find(db, actor.labId, caseId, noteId);
      if (!note || note.deleted_at !== null) throw NotesError.notFound();
      return this.crypto.response(actor.labId, note);
    });
  }

  history(actor: NoteActor, caseId: number, noteId: number): Promise<NoteHistory> {
    return this.db.read(actor.labId, async (db) => {
      await this.cases.requireLiveCase(db, actor.labId, caseId);
      const note = await this.repo.find(db, actor.labId, caseId, noteId);
      if (!note) throw NotesError.notFound();
      const revisions = await this.repo.revisions(db, actor.labId, noteId);
      return {
        note_id: note.id,
        case_id: note.case_id,
        revisions: await Promise.all(
          revisions.map(async (r) => ({
            revision: r.revision,
            text: await this.crypto.decryptRevision(actor.labId, noteId, r),
            visibility: r.visibility,
            author_id: r.author_id,
            created_at: r.created_at,
          })),
        ),
        deleted:
          note.deleted_at !== null && note.deleted_by !== null && note.delete_reason !== null
            ? {
                deleted_at: note.deleted_at,
                deleted_by: note.deleted_by,
                reason: await this.crypto.decryptReason(actor.labId, noteId, note.delete_reason),
              }
            : null,
      };
    });
  }
}
