import {
  ciphertextRangeFor,
  decryptStream,
  encryptStream,
  plaintextSize,
  SEGMENT_HEADER_BYTES,
  SegmentIntegrityError,
} from '@lhcms/crypto';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { ObjectNotFoundError, type ObjectStore } from './object-store';

/**
 * Encrypted objects (the LHCF format of libs/crypto's segmented cipher) in
 * an ObjectStore: what the attachment module stores and serves. `dataKey` is
 * the lab's 32-byte data key, `context` binds the object to its owner (for
 * attachments `lab:<id>|attachment:<id>`) and must be the same to read.
 */
export async function putEncrypted(
  store: ObjectStore,
  key: string,
  body: Readable,
  dataKey: Buffer,
  context: string,
  options: { signal?: AbortSignal } = {},
): Promise<{ plainBytes: number; storedBytes: number }> {
  const enc = encryptStream(dataKey, context);
  // A body error reaches the store through `enc`, which the store then reports as the body's.
  pipeline(body, enc, () => undefined);
  const { bytes } = await store.put(key, enc, options);
  return { plainBytes: plaintextSize(bytes), storedBytes: bytes };
}

export interface DecryptedObject {
  /** The plaintext (of the range, when one was asked for); errors with SegmentIntegrityError when tampered. */
  stream: Readable;
  /** Plaintext size of the whole object. */
  plainSize: number;
  /** The inclusive plaintext range served (0..plainSize-1 without a range; empty object: 0, -1). */
  start: number;
  end: number;
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The plaintext of an encrypted object, or of the inclusive plaintext range
 * [start, end] (end clamped to the object, start past the end: RangeError,
 * the caller's 416). A range reads the 32-byte header and the covering
 * segments only. Rejects with ObjectNotFoundError, ObjectStoreError, or
 * SegmentIntegrityError when the stored size or header cannot be the format's.
 */
export async function getDecrypted(
  store: ObjectStore,
  key: string,
  dataKey: Buffer,
  context: string,
  range?: { start: number; end: number },
): Promise<DecryptedObject> {
  const stored = await store.size(key);
  if (stored === null) throw new ObjectNotFoundError(key);
  const plainSize = plaintextSize(stored);
  const connect = (src: Readable, dec: Transform): Readable => {
    pipeline(src, dec, () => undefined);
    return dec;
  };
  if (!range) {
    const src = await store.get(key);
    return {
      stream: connect(src, decryptStream(dataKey, context)),
      plainSize,
      start: 0,
      end: plainSize - 1,
    };
  }
  if (range.start >= plainSize) throw new RangeError('range starts past the end of the object');
  const end = Math.min(range.end, plainSize - 1);
  const r = ciphertextRangeFor(range.start, end, plainSize);
  const header = await readAll(await store.get(key, { start: 0, end: SEGMENT_HEADER_BYTES - 1 }));
  if (header.length !== SEGMENT_HEADER_BYTES) throw new SegmentIntegrityError('header cut short');
  const src = await store.get(key, { start: r.start, end: r.end });
  return {
    stream: connect(src, decryptStream(dataKey, context, { header, range: r })),
    plainSize,
    start: range.start,
    end,
  };
}
