/** Who acts on notes, in which lab (from the request context: see `@NoteActor()`). */
export interface NoteActor {
  userId: string;
  labId: string;
  /** May edit and delete anyone's note and read earlier texts (note:moderate: lab admins). */
  canModerate: boolean;
  requestId?: string;
}
