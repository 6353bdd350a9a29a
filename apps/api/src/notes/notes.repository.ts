import { Injectable } from '@nestjs/common';
import { type Db, rows } from '@lhcms/database';
import type { Cursor } from '../cases';
import type { Visibility } from './dto/note.schemas';

/** Timestamps as exact text (microseconds, UTC): they also make the cursor. */
const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const NOTE_COLUMNS = `id, case_id, author_id, visibility, body, revision,
  ${TS('created_at')} AS created_at, ${TS('updated_at')} AS updated_at, updated_by,
  ${TS('deleted_at')} AS deleted_at, deleted_by, delete_reason`;

/** A stored note: `body` and `delete_reason` still encrypted. */
export interface StoredNote {
  id: number;
  case_id: number;
  author_id: string;
  visibility: Visibility;
  body: string;
  revision: number;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
  deleted_at: string | null;
  deleted_by: string | null;
  delete_reason: string | null;
}

export interface StoredRevision {
  revision: number;
  author_id: string;
  visibility: Visibility;
  body: string;
  created_at: string;
}

/**
 * The SQL of `case_notes` and `case_note_revisions`, on the transaction it is
 * given, every statement scoped by lab (row-level security is the net below).
 */
@Injectable()
export class NotesRepository {
  /** A fresh note id: taken before the insert, because the ciphertext is bound to it. */
  async nextId(db: Db): Promise<number> {
    const r = await rows<{ id: number }>(
      db,
      `SELECT nextval(pg_get_serial_sequence('case_notes', 'id'))::int AS id`,
    );
    return r[0].id;
  }

  async insert(
    db: Db,
    n: {
      id: number;
      labId: string;
      caseId: number;
      authorId: string;
      visibility: Visibility;
      body: string;
    },
  ): Promise<StoredNote> {
    const r = await rows<StoredNote>(
      db,
      `INSERT INTO case_notes (id, lab_id, case_id, author_id, visibility, body)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${NOTE_COLUMNS}`,
      [n.id, n.labId, n.caseId, n.authorId, n.visibility, n.body],
    );
    return r[0];
  }

  /** A note of this case in this lab, deleted ones too (the caller decides); optionally locked. */
  async find(
    db: Db,
    labId: string,
    caseId: number,
    noteId: number,
    forUpdate = false,
  ): Promise<StoredNote | undefined> {
    const r = await rows<StoredNote>(
      db,
      `SELECT ${NOTE_COLUMNS} FROM case_notes
       WHERE id = $1 AND case_id = $2 AND lab_id = $3${forUpdate ? ' FOR UPDATE' : ''}`,
      [noteId, caseId, labId],
    );
    return r[0];
  }

  /** Live notes of a case, oldest first, after the cursor. */
  async after(
    db: Db,
    labId: string,
    caseId: number,
    filter: { visibility?: Visibility },
    cursor: Cursor | undefined,
    limit: number,
  ): Promise<StoredNote[]> {
    const params: unknown[] = [labId, caseId];
    let where = `lab_id = $1 AND case_id = $2 AND deleted_at IS NULL`;
    if (filter.visibility) {
      params.push(filter.visibility);
      where += ` AND visibility = $${params.length}`;
    }
    if (cursor) {
      params.push(cursor.createdAt, cursor.id);
      where += ` AND (created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`;
    }
    params.push(limit);
    return rows<StoredNote>(
      db,
      `SELECT ${NOTE_COLUMNS} FROM case_notes WHERE ${where} ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    );
  }

  async update(
    db: Db,
    labId: string,
    noteId: number,
    v: { body: string; visibility: Visibility; revision: number; updatedBy: string },
  ): Promise<StoredNote> {
    const r = await rows<StoredNote>(
      db,
      `UPDATE case_notes SET body = $3, visibility = $4, revision = $5, updated_by = $6, updated_at = now()
       WHERE id = $1 AND lab_id = $2 RETURNING ${NOTE_COLUMNS}`,
      [noteId, labId, v.body, v.visibility, v.revision, v.updatedBy],
    );
    return r[0];
  }

  async softDelete(
    db: Db,
    labId: string,
    noteId: number,
    deletedBy: string,
    reason: string,
  ): Promise<void> {
    await rows(
      db,
      `UPDATE case_notes SET deleted_at = now(), deleted_by = $3, delete_reason = $4
       WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL`,
      [noteId, labId, deletedBy, reason],
    );
  }

  async insertRevision(
    db: Db,
    r: {
      labId: string;
      noteId: number;
      revision: number;
      authorId: string;
      visibility: Visibility;
      body: string;
    },
  ): Promise<void> {
    await rows(
      db,
      `INSERT INTO case_note_revisions (lab_id, note_id, revision, author_id, visibility, body)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [r.labId, r.noteId, r.revision, r.authorId, r.visibility, r.body],
    );
  }

  /** Every revision of a note, oldest first. */
  async revisions(db: Db, labId: string, noteId: number): Promise<StoredRevision[]> {
    return rows<StoredRevision>(
      db,
      `SELECT revision, author_id, visibility, body, ${TS('created_at')} AS created_at
       FROM case_note_revisions WHERE lab_id = $1 AND note_id = $2 ORDER BY revision`,
      [labId, noteId],
    );
  }
}
