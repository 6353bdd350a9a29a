import type { Transform } from 'node:stream';
import {
  ciphertextRangeFor,
  DEFAULT_SEGMENT_SIZE,
  decryptStream,
  encryptedSize,
  encryptStream,
  SEGMENT_HEADER_BYTES,
  SegmentIntegrityError,
} from '@lhcms/crypto';

/**
 * The one place this module touches the file cipher (libs/crypto's segmented
 * AES-256-GCM, docs/adr): every file is encrypted under a key derived from
 * the lab's data key and a random salt in the object's header, bound to the
 * lab and the attachment id, so an object copied under another row does not
 * decrypt. The data key version is kept on the row; rotating the KEK re-wraps
 * data keys only, and the file bytes are never rewritten.
 */

/** What every segment of a file is bound to. */
function context(labId: string, attachmentId: string): string {
  return `lhcms-attachment|${labId}|${attachmentId}`;
}

export const STORED_HEADER_BYTES = SEGMENT_HEADER_BYTES;

export function encryptingStream(key: Buffer, labId: string, attachmentId: string): Transform {
  return encryptStream(key, context(labId, attachmentId));
}

/** The stored size a file of `plainSize` bytes must have: a cheap first check before serving it. */
export function storedSizeOf(plainSize: number): number {
  return encryptedSize(plainSize, DEFAULT_SEGMENT_SIZE);
}

/** Decrypts a whole stored object (header first). Errors with an integrity error on any tampering. */
export function decryptingStream(key: Buffer, labId: string, attachmentId: string): Transform {
  return decryptStream(key, context(labId, attachmentId), { segmentSize: DEFAULT_SEGMENT_SIZE });
}

/**
 * The stored bytes to read for the plaintext range [start, end] of a file of
 * `plainSize` bytes, and the stream that decrypts them (it needs the
 * object's header, read separately).
 */
export function rangeReader(
  plainStart: number,
  plainEnd: number,
  plainSize: number,
): {
  stored: { start: number; end: number };
  decrypt: (key: Buffer, labId: string, attachmentId: string, header: Buffer) => Transform;
} {
  const range = ciphertextRangeFor(plainStart, plainEnd, plainSize, DEFAULT_SEGMENT_SIZE);
  return {
    stored: { start: range.start, end: range.end },
    decrypt: (key, labId, attachmentId, header) =>
      decryptStream(key, context(labId, attachmentId), { range, header }),
  };
}

/** The stored object is not what was written under this key and row. */
export function isIntegrityError(err: unknown): boolean {
  return err instanceof SegmentIntegrityError;
}
