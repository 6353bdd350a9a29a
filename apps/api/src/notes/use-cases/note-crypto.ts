import { Injectable } from '@nestjs/common';
import { PhiCipher, TEXT_BINDING } from '../../encryption';
import type { NoteResponse } from '../dto/note.response';
import type { StoredNote, StoredRevision } from '../notes.repository';

/**
 * The encryption of note texts and deletion reasons: the lab's data key and
 * the `enc:v1:` envelope of the case fields, with the ciphertext bound (AAD)
 * to the lab, the table and column, the note id and — for a revision — its
 * number, so a ciphertext copied to another note, revision or lab does not
 * decrypt.
 */
@Injectable()
export class NoteCrypto {
  constructor(private readonly phi: PhiCipher) {}

  private static readonly body = TEXT_BINDING.noteBody;
  private static readonly revision = TEXT_BINDING.noteRevision;
  private static readonly reason = TEXT_BINDING.noteDeleteReason;

  encryptBody(labId: string, noteId: number, text: string): Promise<string> {
    return this.phi.encryptText(labId, NoteCrypto.body(noteId), text);
  }

  encryptRevision(labId: string, noteId: number, revision: number, text: string): Promise<string> {
    return this.phi.encryptText(labId, NoteCrypto.revision(noteId, revision), text);
  }

  encryptReason(labId: string, noteId: number, reason: string): Promise<string> {
    return this.phi.encryptText(labId, NoteCrypto.reason(noteId), reason);
  }

  decryptReason(labId: string, noteId: number, stored: string): Promise<string> {
    return this.phi.decryptText(labId, NoteCrypto.reason(noteId), stored);
  }

  decryptRevision(labId: string, noteId: number, r: StoredRevision): Promise<string> {
    return this.phi.decryptText(labId, NoteCrypto.revision(noteId, r.revision), r.body);
  }

  /** A stored note as the API answers it. */
  async response(labId: string, n: StoredNote): Promise<NoteResponse> {
    return {
      id: n.id,
      case_id: n.case_id,
      text: await this.phi.decryptText(labId, NoteCrypto.body(n.id), n.body),
      visibility: n.visibility,
      author_id: n.author_id,
      created_at: n.created_at,
      updated_at: n.updated_at,
      updated_by: n.updated_by,
      revision: n.revision,
      edited: n.revision > 1,
    };
  }
}
