import { Injectable } from '@nestjs/common';
import { type Db, rows } from '@lhcms/database';

export const ATTACHMENT_KINDS = ['scan', 'photo', 'document', 'design', 'other'] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

/** An attachment row as stored (filename and delete reason encrypted). */
export interface StoredAttachment {
  id: string;
  case_id: number;
  kind: AttachmentKind;
  filename: string;
  content_type: string;
  size_bytes: string;
  sha256: string;
  object_key: string;
  stored_bytes: string;
  key_version: number;
  uploaded_by: string;
  created_at: string;
}

export interface NewAttachment {
  id: string;
  labId: string;
  caseId: number;
  kind: AttachmentKind;
  /** Already encrypted. */
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  objectKey: string;
  storedBytes: number;
  keyVersion: number;
  uploadedBy: string;
  requestId: string;
}

const COLUMNS = `id::text AS id, case_id, kind, filename, content_type, size_bytes::text AS size_bytes, sha256,
  object_key, stored_bytes::text AS stored_bytes, key_version, uploaded_by,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

/**
 * The SQL of attachments, on the transaction it is given (always scoped by
 * lab_id as well as by row-level security). Also the two statements of the
 * case the module needs — is the case live, and its patient object for the
 * audit trail's patient reference — and its timeline entries.
 */
@Injectable()
export class AttachmentsRepository {
  /** The live case's (encrypted) patient_info, or undefined when there is no such live case; `lock` holds it for the transaction. */
  async liveCase(
    em: Db,
    labId: string,
    caseId: number,
    lock = false,
  ): Promise<{ patient_info: unknown } | undefined> {
    const found = await rows<{ patient_info: unknown }>(
      em,
      `SELECT patient_info FROM cases WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL${lock ? ' FOR UPDATE' : ''}`,
      [caseId, labId],
    );
    return found[0];
  }

  /** Live attachments of a case: how many and their total size. */
  async usage(em: Db, labId: string, caseId: number): Promise<{ count: number; bytes: number }> {
    const r = await rows<{ count: number; bytes: string }>(
      em,
      `SELECT count(*)::int AS count, coalesce(sum(size_bytes), 0)::text AS bytes
       FROM attachments WHERE lab_id = $1 AND case_id = $2 AND deleted_at IS NULL`,
      [labId, caseId],
    );
    return { count: r[0].count, bytes: Number(r[0].bytes) };
  }

  async insert(em: Db, a: NewAttachment): Promise<StoredAttachment> {
    const r = await rows<StoredAttachment>(
      em,
      `INSERT INTO attachments (id, lab_id, case_id, kind, filename, content_type, size_bytes, sha256,
                                object_key, stored_bytes, key_version, uploaded_by, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       RETURNING ${COLUMNS}`,
      [
        a.id,
        a.labId,
        a.caseId,
        a.kind,
        a.filename,
        a.contentType,
        a.size,
        a.sha256,
        a.objectKey,
        a.storedBytes,
        a.keyVersion,
        a.uploadedBy,
        a.requestId.slice(0, 128),
      ],
    );
    return r[0];
  }

  /** Live attachments of a case, oldest first. */
  async list(em: Db, labId: string, caseId: number): Promise<StoredAttachment[]> {
    return rows<StoredAttachment>(
      em,
      `SELECT ${COLUMNS} FROM attachments
       WHERE lab_id = $1 AND case_id = $2 AND deleted_at IS NULL ORDER BY created_at, id`,
      [labId, caseId],
    );
  }

  /** One live attachment of a live case. */
  async find(
    em: Db,
    labId: string,
    caseId: number,
    id: string,
  ): Promise<StoredAttachment | undefined> {
    const r = await rows<StoredAttachment>(
      em,
      `SELECT ${COLUMNS} FROM attachments a
       WHERE a.lab_id = $1 AND a.case_id = $2 AND a.id = $3 AND a.deleted_at IS NULL
         AND EXISTS (SELECT 1 FROM cases c WHERE c.id = a.case_id AND c.lab_id = a.lab_id AND c.deleted_at IS NULL)`,
      [labId, caseId, id],
    );
    return r[0];
  }

  /** Marks a live attachment deleted; the row (metadata) stays until the case's retention purge. */
  async softDelete(
    em: Db,
    labId: string,
    caseId: number,
    id: string,
    userId: string,
    reason: string,
  ): Promise<StoredAttachment | undefined> {
    const r = await rows<StoredAttachment>(
      em,
      `UPDATE attachments SET deleted_at = now(), deleted_by = $4, delete_reason = $5
       WHERE lab_id = $1 AND case_id = $2 AND id = $3 AND deleted_at IS NULL
       RETURNING ${COLUMNS}`,
      [labId, caseId, id, userId, reason],
    );
    return r[0];
  }

  /**
   * The case timeline entry of an attachment change: its id and kind only,
   * never its filename. The reason (already encrypted) is a deletion's.
   */
  async timelineEvent(
    em: Db,
    e: {
      labId: string;
      caseId: number;
      type: 'attachment_added' | 'attachment_deleted';
      actorUserId: string;
      attachmentId: string;
      kind: AttachmentKind;
      reason?: string;
      requestId: string;
    },
  ): Promise<void> {
    await rows(
      em,
      `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id, changed_fields, reason, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        e.labId,
        e.caseId,
        e.type,
        e.actorUserId,
        JSON.stringify([
          { field: 'attachment_id', to: e.attachmentId },
          { field: 'attachment_kind', to: e.kind },
        ]),
        e.reason ?? null,
        e.requestId.slice(0, 128),
      ],
    );
  }
}
