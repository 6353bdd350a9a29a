import { Injectable } from '@nestjs/common';
import { type Db, rows } from '@lhcms/database';
import { CaseEventsRepository, type CaseEventType } from './case-events.repository';
import { CasesError } from '../case-model';

/** A timeline entry of a record kept under a case (a note): who, which, never its content. */
export interface SubresourceEvent {
  labId: string;
  caseId: number;
  type: Extract<CaseEventType, 'note_created' | 'note_edited' | 'note_deleted'>;
  actorUserId: string;
  noteId: number;
  requestId?: string;
}

/**
 * What a module that keeps records under a case (notes) needs of the case,
 * through the cases module's index: that the case is live in the caller's
 * lab (404 exactly as for the case itself otherwise), and its timeline
 * entries, written in the caller's transaction.
 */
@Injectable()
export class CaseSubresources {
  constructor(private readonly events: CaseEventsRepository) {}

  /** Throws CASE_NOT_FOUND unless the case is live in `labId` (another lab's case is missing too). */
  async requireLiveCase(db: Db, labId: string, caseId: number): Promise<void> {
    const found = await rows(
      db,
      `SELECT 1 FROM cases WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL`,
      [caseId, labId],
    );
    if (found.length === 0) throw CasesError.notFound();
  }

  /** Appends a timeline entry in the caller's transaction. */
  async event(db: Db, e: SubresourceEvent): Promise<void> {
    await this.events.insert(db, {
      labId: e.labId,
      caseId: e.caseId,
      type: e.type,
      actorUserId: e.actorUserId,
      requestId: e.requestId,
      noteId: e.noteId,
    });
  }
}
