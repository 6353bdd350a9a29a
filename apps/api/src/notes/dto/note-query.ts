import { type Cursor, decodeCursor } from '../../cases';
import { queryReader } from '../../common/http/query-params';
import { type Visibility, VISIBILITIES } from './note.schemas';

export interface NoteListQuery {
  cursor?: Cursor;
  limit: number;
  visibility?: Visibility;
}

const KNOWN = new Set(['cursor', 'limit', 'visibility']);

/**
 * The list query of a case's notes: `limit` (capped at the maximum page
 * size), `cursor` (the case list's cursor format: a position, not data) and
 * an optional `visibility`. Anything else, or any bad value, is a 400 naming
 * the parameter.
 */
export function parseNoteListQuery(
  q: Record<string, unknown>,
  defaults: { perPage: number; maxPerPage: number },
): { ok: NoteListQuery } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const { one, positiveInt } = queryReader(q, errors);
  for (const k of Object.keys(q)) if (!KNOWN.has(k)) errors[k] = 'is not a parameter of this list';
  const out: NoteListQuery = {
    limit: positiveInt('limit', defaults.perPage, defaults.maxPerPage),
  };
  const cursor = one('cursor');
  if (cursor !== undefined && cursor !== '') {
    out.cursor = decodeCursor(cursor);
    if (!out.cursor) errors.cursor = 'is not a cursor this API issued';
  }
  const visibility = one('visibility');
  if (visibility !== undefined) {
    if (!(VISIBILITIES as readonly string[]).includes(visibility))
      errors.visibility = `is not one of ${VISIBILITIES.join(', ')}`;
    else out.visibility = visibility as Visibility;
  }
  return Object.keys(errors).length ? { errors } : { ok: out };
}
