import type { Visibility } from './note.schemas';

/** A note as the API answers it (see the `Note` schema). */
export interface NoteResponse {
  id: number;
  case_id: number;
  text: string;
  visibility: Visibility;
  author_id: string;
  created_at: string;
  updated_at: string;
  updated_by: string | null;
  revision: number;
  edited: boolean;
}

export interface NotePage {
  notes: NoteResponse[];
  next_cursor: string | null;
}

export interface NoteHistory {
  note_id: number;
  case_id: number;
  revisions: Array<{
    revision: number;
    text: string;
    visibility: Visibility;
    author_id: string;
    created_at: string;
  }>;
  deleted: { deleted_at: string; deleted_by: string; reason: string } | null;
}

/** The note's ETag: its revision. */
export function noteEtag(revision: number): string {
  return `"${revision}"`;
}
