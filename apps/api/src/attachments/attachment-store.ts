import type { Readable } from 'node:stream';
import { ObjectNotFoundError, type ObjectStore } from '@lhcms/storage';
import type { MetricsService } from '../metrics';

/** The injection token of the attachment object store. */
export const ATTACHMENT_STORE = Symbol('ATTACHMENT_STORE');

export type StoreOperation = 'put' | 'get' | 'size' | 'delete' | 'check';

/**
 * The configured ObjectStore with every call timed and every failure counted
 * (`lhcms_attachment_storage_duration_seconds`, `…_errors_total`). A missing
 * object is an answer, not a storage error.
 */
export class MeteredObjectStore implements ObjectStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly metrics: MetricsService,
  ) {}

  get kind() {
    return this.store.kind;
  }

  private async timed<T>(op: StoreOperation, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) this.metrics.attachmentStorageError(op);
      throw err;
    } finally {
      this.metrics.attachmentStorage(op, (performance.now() - started) / 1000);
    }
  }

  put(key: string, body: Readable, options?: { signal?: AbortSignal }) {
    return this.timed('put', () => this.store.put(key, body, options));
  }

  get(key: string, range?: { start: number; end: number }) {
    return this.timed('get', () => this.store.get(key, range));
  }

  size(key: string) {
    return this.timed('size', () => this.store.size(key));
  }

  delete(key: string) {
    return this.timed('delete', () => this.store.delete(key));
  }

  keys() {
    return this.store.keys();
  }

  check() {
    return this.timed('check', () => this.store.check());
  }
}
