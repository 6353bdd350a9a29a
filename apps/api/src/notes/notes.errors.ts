import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum NotesErrorCode {
  NoteNotFound = 'NOTE_NOT_FOUND',
  NotAuthor = 'NOTE_NOT_AUTHOR',
  VersionMismatch = 'NOTE_VERSION_MISMATCH',
  InvalidNote = 'NOTE_INVALID',
  InvalidQuery = 'NOTE_INVALID_QUERY',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<NotesErrorCode>({
  [NotesErrorCode.NoteNotFound]: 404,
  [NotesErrorCode.NotAuthor]: 403,
  [NotesErrorCode.VersionMismatch]: 412,
  [NotesErrorCode.InvalidNote]: 400,
  [NotesErrorCode.InvalidQuery]: 400,
});

/** Errors of the notes module. Messages name fields and rules, never a note's text. */
export class NotesError extends DomainError<NotesErrorCode> {
  /**
   * A missing note, a deleted one, another lab's, or one of another case
   * under this case's id: indistinguishable.
   */
  static notFound(): NotesError {
    return new NotesError(NotesErrorCode.NoteNotFound, 'Note not found');
  }

  static notAuthor(): NotesError {
    return new NotesError(
      NotesErrorCode.NotAuthor,
      'Only the author of a note or a lab admin may change it',
    );
  }

  static versionMismatch(current: number): NotesError {
    return new NotesError(
      NotesErrorCode.VersionMismatch,
      'The note changed since you read it (If-Match does not match its current ETag)',
      { current_etag: `"${current}"` },
    );
  }

  /** A field the schema cannot judge (whitespace only): named, its value never repeated. */
  static invalid(field: string, problem: string): NotesError {
    return new NotesError(NotesErrorCode.InvalidNote, `Invalid ${field}: ${problem}`, {
      errors: { [field]: problem },
    });
  }

  static invalidQuery(errors: Record<string, string>): NotesError {
    const first = Object.entries(errors)[0];
    return new NotesError(
      NotesErrorCode.InvalidQuery,
      first ? `Invalid ${first[0]}: ${first[1]}` : 'Invalid query',
      { errors },
    );
  }
}
