import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../../audit';
import { CaseSubresources, type SubresourceEvent, type WriteOptions } from '../../cases';
import { NotesError } from '../notes.errors';
import { NotesRepository, type StoredNote } from '../notes.repository';
import type { NoteActor } from './note-actor';

type Interaction = 'create' | 'update' | 'delete';
type Field = { field: string; from?: unknown; to?: unknown };

/** A text field of a body: 400 when it is only whitespace (the schema checked its type and length). */
export function requireText(field: string, value: string): string {
  if (value.trim() === '') throw NotesError.invalid(field, 'must not be empty or only whitespace');
  return value;
}

/**
 * What the note writes share: the lock of a live note with its If-Match and
 * its author check, and what each write records in its own transaction —
 * the audit row (names of PHI fields only, never the text) and the case
 * timeline entry (which note, who; never the text).
 */
@Injectable()
export class NoteWrites {
  constructor(
    private readonly repo: NotesRepository,
    private readonly cases: CaseSubresources,
    private readonly audit: AuditService,
  ) {}

  /**
   * Locks a live note of the case for the rest of the transaction. 404 for a
   * missing case or note (another lab's, another case's, a deleted one);
   * 412 on a stale If-Match; 403 when a member changes someone else's note.
   */
  async lockForChange(
    em: EntityManager,
    actor: NoteActor,
    caseId: number,
    noteId: number,
    opts: WriteOptions,
  ): Promise<StoredNote> {
    await this.cases.requireLiveCase(em, actor.labId, caseId);
    const note = await this.repo.find(em, actor.labId, caseId, noteId, true);
    if (!note || note.deleted_at !== null) throw NotesError.notFound();
    if (note.author_id !== actor.userId && !actor.canModerate) throw NotesError.notAuthor();
    if (opts.ifMatch !== undefined && opts.ifMatch !== note.revision)
      throw NotesError.versionMismatch(note.revision);
    return note;
  }

  /** The audit row of a note write, in the write's transaction. */
  record(
    em: EntityManager,
    actor: NoteActor,
    noteId: number,
    interaction: Interaction,
    changedFields: Field[],
  ): Promise<void> {
    return this.audit.recordChange(em, {
      labId: actor.labId,
      resourceType: 'case_note',
      resourceId: noteId,
      interaction,
      changedFields,
      patients: [],
    });
  }

  /** The case timeline entry of a note write, in the write's transaction. */
  event(
    em: EntityManager,
    actor: NoteActor,
    caseId: number,
    noteId: number,
    type: SubresourceEvent['type'],
  ): Promise<void> {
    return this.cases.event(em, {
      labId: actor.labId,
      caseId,
      noteId,
      type,
      actorUserId: actor.userId,
      requestId: actor.requestId,
    });
  }
}
