/**
 * The wire contract of case notes as JSON Schema (OpenAPI 3.0 dialect): the
 * same objects validate the bodies (SchemaPipe) and become the OpenAPI
 * components. Unknown fields are refused (400), unlike the case bodies,
 * which follow the original API.
 */
type Schema = Record<string, unknown>;

/** The longest note, in characters (Unicode code points). */
export const NOTE_MAX_LENGTH = 10_000;
/** The longest deletion reason, in characters. */
export const REASON_MAX_LENGTH = 500;
export const VISIBILITIES = ['internal', 'shared'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const ts = { type: 'string', format: 'date-time', example: '2026-12-07T10:00:00.000000Z' };

const text: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: NOTE_MAX_LENGTH,
  description: `The note (PHI: stored encrypted). 1 to ${NOTE_MAX_LENGTH} characters, not only whitespace.`,
};
const visibility: Schema = {
  type: 'string',
  enum: [...VISIBILITIES],
  description:
    '`internal`: for the lab only; `shared`: may be shown outside the lab (to the doctor). Every lab member reads both.',
};

const NoteInput: Schema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: { text, visibility: { ...visibility, default: 'internal' } },
};

const NoteUpdate: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'The new text, the new visibility, or both.',
  properties: { text, visibility },
};

const NoteDelete: Schema = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  properties: {
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: REASON_MAX_LENGTH,
      description: `Why the note is deleted (1 to ${REASON_MAX_LENGTH} characters; stored encrypted, shown only to lab admins).`,
    },
  },
};

const Note: Schema = {
  type: 'object',
  required: [
    'id',
    'case_id',
    'text',
    'visibility',
    'author_id',
    'created_at',
    'updated_at',
    'revision',
    'edited',
  ],
  properties: {
    id: { type: 'integer' },
    case_id: { type: 'integer' },
    text: { type: 'string' },
    visibility: { type: 'string', enum: [...VISIBILITIES] },
    author_id: { type: 'string' },
    created_at: ts,
    updated_at: ts,
    updated_by: { type: 'string', nullable: true },
    revision: {
      type: 'integer',
      minimum: 1,
      description: 'Starts at 1, +1 per edit; also the ETag (`"<revision>"`) for If-Match.',
    },
    edited: { type: 'boolean', description: 'Whether the note was edited (revision > 1).' },
  },
};

const NoteList: Schema = {
  type: 'object',
  required: ['notes', 'next_cursor'],
  properties: {
    notes: { type: 'array', items: ref('Note'), description: 'Oldest first.' },
    next_cursor: {
      type: 'string',
      nullable: true,
      description: 'Pass as `cursor` for the next page; null on the last page.',
    },
  },
};

const NoteRevision: Schema = {
  type: 'object',
  required: ['revision', 'text', 'visibility', 'author_id', 'created_at'],
  properties: {
    revision: { type: 'integer', minimum: 1 },
    text: { type: 'string' },
    visibility: { type: 'string', enum: [...VISIBILITIES] },
    author_id: { type: 'string', description: 'Who wrote this revision.' },
    created_at: ts,
  },
};

const NoteHistory: Schema = {
  type: 'object',
  required: ['note_id', 'case_id', 'revisions', 'deleted'],
  properties: {
    note_id: { type: 'integer' },
    case_id: { type: 'integer' },
    revisions: { type: 'array', items: ref('NoteRevision'), description: 'Oldest first.' },
    deleted: {
      type: 'object',
      nullable: true,
      required: ['deleted_at', 'deleted_by', 'reason'],
      properties: { deleted_at: ts, deleted_by: { type: 'string' }, reason: { type: 'string' } },
    },
  },
};

export const NOTE_SCHEMAS = {
  NoteInput,
  NoteUpdate,
  NoteDelete,
  Note,
  NoteList,
  NoteRevision,
  NoteHistory,
} as const;

export interface NoteInputBody {
  text: string;
  visibility?: Visibility;
}
export interface NoteUpdateBody {
  text?: string;
  visibility?: Visibility;
}
export interface NoteDeleteBody {
  reason: string;
}
