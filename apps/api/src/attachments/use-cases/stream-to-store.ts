import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '@lhcms/storage';
import { encryptingStream } from '../attachment-cipher';
import { AttachmentsError } from '../attachments.errors';
import { metadataFilter } from '../metadata-strip';
import { contradictsName, OCTET_STREAM, SNIFF_BYTES, sniffType } from '../sniff';

/** What was stored of one uploaded file. */
export interface StoredFile {
  mime: string;
  /** Bytes received from the client and their SHA-256 (what a client checksum names). */
  receivedBytes: number;
  receivedSha256: string;
  /** The plaintext as stored (after metadata stripping): what the row records and a download returns. */
  size: number;
  sha256: string;
  /** The encrypted object's size. */
  storedBytes: number;
}

export interface StreamToStoreOptions {
  store: ObjectStore;
  objectKey: string;
  key: Buffer;
  labId: string;
  attachmentId: string;
  allowedTypes: readonly string[];
  /** The (sanitised) filename: its extension must not contradict the bytes. */
  filename: string;
  /** Bytes received: every chunk, as it arrives (metrics). */
  onBytes: (n: number) => void;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** Counts and hashes what passes through. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** A busboy file stream: `truncated` once it passed the size limit, and a `limit` event then. */
type FileStream = Readable & { truncated?: boolean };

/**
 * Streams one uploaded file into the store: the first bytes decide its type
 * (415 before anything is stored when it is not allowed), then
 * received → [metadata filter] → digest → encrypt → store, with backpressure
 * all the way, so memory holds a few segments whatever the size. The size
 * limit is busboy's (`limit` event: refused at once, 413). Any failure —
 * too large, client gone, store fault — leaves nothing under the key.
 */
export async function streamToStore(
  file: FileStream,
  o: StreamToStoreOptions,
  tooLarge: () => AttachmentsError,
): Promise<StoredFile> {
  const state: { failure?: Error } = {};
  /** Throws the first failure seen by the listeners (too large, client gone), if any. */
  const rethrow = (): void => {
    const f: Error | undefined = state.failure;
    if (f) throw f;
  };
  const received = new Digest();
  const fail = (err: Error): void => {
    state.failure ??= err;
    file.destroy(err);
  };
  file.once('limit', () => fail(tooLarge()));
  const onAbort = (): void => fail(new UploadAbortedError());
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const it = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const headChunks: Buffer[] = [];
    let headBytes = 0;
    let whole = false;
    while (headBytes < SNIFF_BYTES) {
      const r = await it.next();
      if (r.done) {
        whole = true;
        break;
      }
      headChunks.push(r.value);
      headBytes += r.value.length;
      o.onBytes(r.value.length);
    }
    rethrow();
    if (file.truncated) throw tooLarge();
    const head = Buffer.concat(headChunks);
    if (head.length === 0) throw AttachmentsError.empty();
    const type = await sniffType(head, whole);
    if (!o.allowedTypes.includes(type.mime)) {
      throw AttachmentsError.unsupportedType(type.mime, o.allowedTypes);
    }
    if (contradictsName(o.filename, type.mime)) {
      const ext = o.filename.slice(o.filename.lastIndexOf('.'));
      throw AttachmentsError.unsupportedType(type.mime, o.allowedTypes, ext);
    }

    const source = Readable.from(
      (async function* () {
        yield head;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          o.onBytes(r.value.length);
          yield r.value;
        }
      })(),
      { objectMode: false },
    );
    const filter = metadataFilter(type.mime);
    // Without a metadata filter the stored bytes are the received ones: one digest serves both.
    const stored = filter ? new Digest() : received;
    const body = new PassThrough();
    const stages: NodeJS.ReadWriteStream[] = [
      received,
      ...(filter ? [filter, stored] : []),
      encryptingStream(o.key, o.labId, o.attachmentId),
    ];
    const piped = pipeline([source, ...stages, body]);
    const put = o.store.put(o.objectKey, body, { signal: o.signal }).catch((err: unknown) => {
      body.destroy(err as Error);
      throw err;
    });
    const [p, s] = await Promise.allSettled([piped, put]);
    rethrow();
    if (file.truncated) throw tooLarge();
    if (p.status === 'rejected') throw p.reason as Error;
    if (s.status === 'rejected') throw s.reason as Error;
    if (type.expectedSize !== undefined && received.bytes !== type.expectedSize) {
      // A binary STL is recognised by its size; this is not one.
      throw AttachmentsError.unsupportedType(OCTET_STREAM, o.allowedTypes);
    }
    // A hash can be finished once: the shared digest is read once.
    const receivedSha256 = received.hash.digest('hex');
    return {
      mime: type.mime,
      receivedBytes: received.bytes,
      receivedSha256,
      size: stored.bytes,
      sha256: stored === received ? receivedSha256 : stored.hash.digest('hex'),
      storedBytes: s.value.bytes,
    };
  } catch (err) {
    // Drain nothing more; whatever reached the store goes.
    if (!file.destroyed) file.destroy();
    await o.store.delete(o.objectKey).catch(() => undefined);
    throw state.failure ?? err;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}

/** The client went away mid-upload. */
export class UploadAbortedError extends Error {
  constructor() {
    super('upload aborted by the client');
  }
}
