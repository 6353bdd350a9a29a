import { Injectable } from '@nestjs/common';

import { type Db, rows } from '@lhcms/database';

export type CaseEventType =
  | 'created'
  | 'updated'
  | 'status_changed'
  | 'stage_changed'
  | 'reopened'
  | 'deleted'
  // A note on the case (notes/): which note and who, never its text.
  | 'note_created'
  | 'note_edited'
  | 'note_deleted'
  // A file on the case (attachments/): which attachment and who, never its name.
  | 'attachment_added'
  | 'attachment_deleted'
  // A remake of this case was created (its id in related_case_id).
  | 'remake_created';

/** A field a change touched: names only for PHI fields, old and new values for the others. */
export interface ChangedField {
  field: string;
  from?: unknown;
  to?: unknown;
}

export interface NewCaseEvent {
  labId: string;
  caseId: number;
  type: CaseEventType;
  actorUserId: string;
  fromStatus?: string | null;
  toStatus?: string | null;
  fromStage?: string | null;
  toStage?: string | null;
  changedFields?: ChangedField[];
  /** Already encrypted (PhiCipher.encryptText): a reason is free text and may carry PHI. */
  reason?: string | null;
  requestId?: string;
  /** The note a note event is about. */
  noteId?: number;
  /** The other case of a remake: the new case on the original's `remake_created`, the original on the remake's `created`. */
  relatedCaseId?: number;
}

export interface StoredCaseEvent {
  id: string;
  event_type: CaseEventType;
  actor_user_id: string | null;
  occurred_at: string;
  from_status: string | null;
  to_status: string | null;
  from_stage: string | null;
  to_stage: string | null;
  changed_fields: ChangedField[];
  reason: string | null;
  request_id: string | null;
  note_id: number | null;
  related_case_id: number | null;
}

/** The append-only case timeline (the table refuses UPDATE and DELETE). */
@Injectable()
export class CaseEventsRepository {
  async insert(em: Db, e: NewCaseEvent): Promise<void> {
    await rows(
      em,
      `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id, from_status, to_status, from_stage,
                                to_stage, changed_fields, reason, request_id, note_id, related_case_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        e.labId,
        e.caseId,
        e.type,
        e.actorUserId,
        e.fromStatus ?? null,
        e.toStatus ?? null,
        e.fromStage ?? null,
        e.toStage ?? null,
        JSON.stringify(e.changedFields ?? []),
        e.reason ?? null,
        e.requestId ?? null,
        e.noteId ?? null,
        e.relatedCaseId ?? null,
      ],
    );
  }

  /** Oldest first. */
  async list(em: Db, labId: string, caseId: number): Promise<StoredCaseEvent[]> {
    return rows<StoredCaseEvent>(
      em,
      `SELECT id::text AS id, event_type, actor_user_id,
              to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
              from_status, to_status, from_stage, to_stage, changed_fields, reason, request_id, note_id,
              related_case_id
       FROM case_events WHERE lab_id = $1 AND case_id = $2 ORDER BY case_events.id`,
      [labId, caseId],
    );
  }
}
