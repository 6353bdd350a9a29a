import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { assertObjectKey, assertRange, isValidObjectKey } from './object-key';
import { ObjectNotFoundError, ObjectStoreError, type ObjectStore } from './object-store';
import { writeAll } from './write-all';

const TEMP_PREFIX = '.tmp-';
const FANOUT = /^[a-z0-9]{2}$/;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function storeError(op: string, e: unknown): ObjectStoreError {
  // The errno code only: paths and messages stay out of errors and logs.
  return new ObjectStoreError(`filesystem store: ${op} failed (${code(e) ?? 'error'})`, {
    cause: e,
  });
}

/** Bytes gathered before one write (bounded memory: at most this plus one chunk per upload). */
const WRITE_BATCH_BYTES = 256 * 1024;

/** Bytes per read of a download (fewer thread-pool round trips than the 64 KiB default). */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Objects as files under `rootDir/<fan-out>/<name>`. A put writes a temp file
 * in the same directory, fsyncs it, renames it over the key and fsyncs the
 * directory, so an acknowledged write survives a crash and a reader never sees
 * half an object; a failed or aborted put removes its temp file.
 */
export class FilesystemObjectStore implements ObjectStore {
  readonly kind = 'filesystem' as const;
  readonly rootDir: string;

  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  private pathOf(key: string): string {
    assertObjectKey(key);
    return path.join(this.rootDir, key);
  }

  async put(
    key: string,
    body: Readable,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ bytes: number }> {
    let final: string;
    try {
      final = this.pathOf(key);
    } catch (e) {
      body.destroy();
      throw e;
    }
    const dir = path.dirname(final);
    const temp = path.join(
      dir,
      `${TEMP_PREFIX}${path.basename(final)}-${randomBytes(6).toString('hex')}`,
    );
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason ?? new DOMException('aborted', 'AbortError');
    }
    let fh: fs.promises.FileHandle;
    try {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      fh = await fs.promises.open(temp, 'wx', 0o600);
    } catch (e) {
      body.destroy();
      throw storeError('open', e);
    }
    let bytes = 0;
    let phase: 'read' | 'write' = 'read';
    try {
      if (signal) addAbortSignal(signal, body);
      // Chunks are gathered up to WRITE_BATCH_BYTES and written with one writev: a
      // cipher emits a segment as a few pieces, and one write each would be a
      // thread-pool round trip per piece.
      let batch: Buffer[] = [];
      let batched = 0;
      const flush = async (): Promise<void> => {
        if (batched === 0) return;
        phase = 'write';
        await writeAll(fh, batch, batched);
        phase = 'read';
        bytes += batched;
        batch = [];
        batched = 0;
      };
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        batch.push(buf);
        batched += buf.length;
        if (batched >= WRITE_BATCH_BYTES) await flush();
        if (signal?.aborted) throw signal.reason;
      }
      await flush();
      phase = 'write';
      await fh.sync();
      await fh.close();
      await fs.promises.rename(temp, final);
      await syncDir(dir);
      return { bytes };
    } catch (e) {
      body.destroy();
      await fh.close().catch(() => undefined);
      await fs.promises.rm(temp, { force: true }).catch(() => undefined);
      // The body's own error (or the abort) goes back as it is; a disk fault is the store's.
      if (phase === 'write' && !signal?.aborted) throw storeError('write', e);
      throw e;
    }
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) assertRange(range);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, 'r');
    } catch (e) {
      if (code(e) === 'ENOENT') throw new ObjectNotFoundError(key);
      throw storeError('open', e);
    }
    if (!range) return fh.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
    try {
      const { size } = await fh.stat();
      if (range.start >= size) throw new RangeError('range starts past the end of the object');
      return fh.createReadStream({
        start: range.start,
        end: Math.min(range.end, size - 1),
        highWaterMark: READ_CHUNK_BYTES,
      });
    } catch (e) {
      await fh.close().catch(() => undefined);
      if (e instanceof RangeError) throw e;
      throw storeError('stat', e);
    }
  }

  async size(key: string): Promise<number | null> {
    const file = this.pathOf(key);
    try {
      return (await fs.promises.stat(file)).size;
    } catch (e) {
      if (code(e) === 'ENOENT') return null;
      throw storeError('stat', e);
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.promises.unlink(file);
    } catch (e) {
      if (code(e) === 'ENOENT') return;
      throw storeError('unlink', e);
    }
    await syncDir(path.dirname(file)).catch((e: unknown) => {
      throw storeError('sync', e);
    });
  }

  async *keys(): AsyncIterable<string> {
    let fanouts: string[];
    try {
      fanouts = await fs.promises.readdir(this.rootDir);
    } catch (e) {
      if (code(e) === 'ENOENT') return;
      throw storeError('list', e);
    }
    for (const d of fanouts.sort()) {
      if (!FANOUT.test(d)) continue;
      let names: string[];
      try {
        names = await fs.promises.readdir(path.join(this.rootDir, d));
      } catch (e) {
        if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') continue;
        throw storeError('list', e);
      }
      for (const n of names.sort()) {
        const key = `${d}/${n}`;
        if (!n.startsWith(TEMP_PREFIX) && isValidObjectKey(key)) yield key;
      }
    }
  }

  /**
   * Removes temp files older than `maxAgeMs` (left by a crash mid-upload; a
   * failed or aborted put removes its own). Returns how many it removed.
   */
  async sweepTempFiles(maxAgeMs = 24 * 3600 * 1000): Promise<number> {
    const before = Date.now() - maxAgeMs;
    let removed = 0;
    const sweep = async (dir: string): Promise<void> => {
      let names: string[];
      try {
        names = await fs.promises.readdir(dir);
      } catch (e) {
        if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return;
        throw storeError('list', e);
      }
      for (const n of names) {
        const p = path.join(dir, n);
        if (dir === this.rootDir && FANOUT.test(n)) await sweep(p);
        else if (n.startsWith(TEMP_PREFIX)) {
          const st = await fs.promises.stat(p).catch(() => undefined);
          if (st?.isFile() && st.mtimeMs < before) {
            await fs.promises.rm(p, { force: true });
            removed++;
          }
        }
      }
    };
    await sweep(this.rootDir);
    return removed;
  }

  /** The root exists (it is created) and a file can be written, synced and removed there. */
  async check(): Promise<void> {
    const probe = path.join(this.rootDir, `${TEMP_PREFIX}check-${randomBytes(6).toString('hex')}`);
    try {
      await fs.promises.mkdir(this.rootDir, { recursive: true, mode: 0o700 });
      const fh = await fs.promises.open(probe, 'wx', 0o600);
      try {
        await fh.write('ok');
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw storeError('check', e);
    } finally {
      await fs.promises.rm(probe, { force: true }).catch(() => undefined);
    }
  }
}

/** fsync of a directory, so a rename or unlink in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
