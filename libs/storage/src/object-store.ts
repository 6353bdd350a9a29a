import type { Readable } from 'node:stream';

/**
 * Where attachment bytes live. Every method refuses a key that is not of the
 * server-made form (`newObjectKey()`, object-key.ts) with InvalidObjectKeyError.
 * Two implementations: the local filesystem under
 * LHCMS_DATA_DIR (the embedded default) and S3-compatible object storage.
 * The store only ever sees ciphertext and random keys: encryption, names and
 * tenancy are the caller's business.
 */
export interface ObjectStore {
  /** 'filesystem' or 's3': a metric and readiness label. */
  readonly kind: ObjectStoreKind;
  /**
   * Stores the stream under `key` and resolves with the bytes written. If the
   * stream errors, is aborted through `signal`, or the store fails, nothing
   * remains under `key` (a partial object is removed) and the promise rejects:
   * with the body's own error, with the abort reason (an AbortError), or with
   * ObjectStoreError when the store failed.
   */
  put(key: string, body: Readable, options?: { signal?: AbortSignal }): Promise<{ bytes: number }>;
  /**
   * The stored bytes, or the inclusive byte range [start, end] (`end` past the
   * object is clamped to its last byte; `start` past it rejects with a
   * RangeError). Rejects with ObjectNotFoundError. An error while the bytes
   * flow (the store going away mid-download) is emitted on the stream.
   */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** The stored size, or null when there is no such object. */
  size(key: string): Promise<number | null>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Every key in the store (for fsck). */
  keys(): AsyncIterable<string>;
  /** Throws when the store cannot be reached (readiness). */
  check(): Promise<void>;
}

export type ObjectStoreKind = 'filesystem' | 's3';

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super('stored object not found');
  }
}

/** The store failed (unreachable, refused, timed out): answered 503, counted, logged. */
export class ObjectStoreError extends Error {}
