import { CreateNote } from './create-note.use-case';
import { DeleteNote } from './delete-note.use-case';
import { NoteCrypto } from './note-crypto';
import { NoteWrites } from './note-writes';
import { ReadNotes } from './read-notes.use-case';
import { UpdateNote } from './update-note.use-case';

export type { NoteActor } from './note-actor';
export { CreateNote, DeleteNote, NoteCrypto, NoteWrites, ReadNotes, UpdateNote };

/** The providers of the note use cases (NotesModule). */
export const NOTE_USE_CASES = [
  NoteCrypto,
  NoteWrites,
  CreateNote,
  UpdateNote,
  DeleteNote,
  ReadNotes,
];
