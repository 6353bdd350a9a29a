/** How OpenAPI describes the note routes, and what a note response discloses to the audit trail. */
import { ApiParam, ApiQuery } from '@nestjs/swagger';
import type { AuditSubjects } from '../audit';
import type { CaseRouteDocs } from '../cases';
import { NOTE_MAX_LENGTH, VISIBILITIES } from './dto/note.schemas';

/** One note disclosed: its id. */
export function oneNote(result: unknown): AuditSubjects {
  return { ids: [(result as { id: number }).id] };
}

/** A page of notes: how many were disclosed (the row names the case). */
export function notePage(result: unknown): AuditSubjects {
  return { count: (result as { notes: unknown[] }).notes.length };
}

/** A note's history: the note's id. */
export function noteHistory(result: unknown): AuditSubjects {
  return { ids: [(result as { note_id: number }).note_id] };
}

/** List parameters recorded with their values (none can carry PHI). */
export const NOTE_LIST_AUDITED_QUERY = ['cursor', 'limit', 'visibility'] as const;

const NOTE_ID = ApiParam({ name: 'note_id', schema: { type: 'integer', minimum: 1 } });
const IF_MATCH = {
  name: 'If-Match',
  required: false,
  description: 'The ETag of the note as you read it (`"<revision>"`); 412 when it changed since.',
};

export const NOTE_ROUTE_DOCS = {
  list: {
    summary: "A case's notes, oldest first (keyset pages)",
    description:
      "Deleted notes are not listed. `limit` (default and maximum: the page-size settings), `cursor` (the previous page's `next_cursor`), `visibility` (only `internal` or only `shared` notes). Every lab member, viewers included, reads both visibilities.",
    params: [
      ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1 } }),
      ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } }),
      ApiQuery({
        name: 'visibility',
        required: false,
        schema: { type: 'string', enum: [...VISIBILITIES] },
      }),
    ],
    ok: { schema: 'NoteList' },
    errors: [400, 401, 403, 404, 429, 503],
  },
  create: {
    summary: 'Add a note to a case',
    description: `\`text\`: 1 to ${NOTE_MAX_LENGTH} characters, not only whitespace (stored encrypted). \`visibility\`: \`internal\` (default) or \`shared\`. Members and admins.`,
    ok: { schema: 'Note', description: 'The note (ETag: its revision)' },
    errors: [400, 401, 403, 404, 413, 415, 429, 503],
  },
  get: {
    summary: 'One live note of a case',
    params: [NOTE_ID],
    ok: { schema: 'Note' },
    errors: [401, 403, 404, 429, 503],
  },
  history: {
    summary: "A note's earlier texts (lab admins)",
    description:
      'Every revision, oldest first, and the deletion with its reason for a deleted note.',
    params: [NOTE_ID],
    ok: { schema: 'NoteHistory' },
    errors: [401, 403, 404, 429, 503],
  },
  update: {
    summary: 'Edit a note (its author, or a lab admin)',
    description:
      'The new `text` and/or `visibility` become the next revision; the earlier text stays readable to lab admins. A member may edit only their own notes (403 otherwise).',
    headers: [IF_MATCH],
    params: [NOTE_ID],
    ok: { schema: 'Note' },
    errors: [400, 401, 403, 404, 412, 413, 415, 429, 503],
  },
  remove: {
    summary: 'Delete a note (its author, or a lab admin), with a reason',
    description:
      'A soft delete: the note leaves the list and reads 404; lab admins still read its history and the reason.',
    headers: [IF_MATCH],
    params: [NOTE_ID],
    ok: { description: 'Deleted' },
    errors: [400, 401, 403, 404, 412, 415, 429, 503],
  },
} satisfies Record<string, CaseRouteDocs>;
