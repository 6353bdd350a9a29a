/** What other modules may use of the notes module. */
export { NotesModule } from './notes.module';
export { NotesError, NotesErrorCode } from './notes.errors';
export { NOTE_MAX_LENGTH, VISIBILITIES, type Visibility } from './dto/note.schemas';
