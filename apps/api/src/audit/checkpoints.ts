import { createHmac, timingSafeEqual } from 'node:crypto';
import { keyObject } from '@lhcms/crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A signed statement of the chain head at a moment: kept outside the database. */
export interface Checkpoint {
  v: 1;
  chain_id: string;
  /** Chain position and event seq of the head. */
  position: number;
  seq: string;
  /** row_hash at that position. */
  hash: string;
  time: string;
  /** Signature of the previous checkpoint (null for the first): a missing file breaks the links. */
  prev: string | null;
  signature: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'signature'>;

export function signCheckpoint(key: Buffer, c: UnsignedCheckpoint): string {
  return createHmac('sha256', keyObject(key))
    .update(
      `lhcms-audit-checkpoint-v1|${JSON.stringify([c.v, c.chain_id, c.position, c.seq, c.hash, c.time, c.prev])}`,
      'utf8',
    )
    .digest('hex');
}

export function checkpointSignatureValid(key: Buffer, c: Checkpoint): boolean {
  const want = Buffer.from(signCheckpoint(key, c), 'hex');
  const got = Buffer.from(typeof c.signature === 'string' ? c.signature : '', 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Checkpoint files of one chain: `<dir>/<chain_id>/<position, 20 digits>.json`,
 * written once (never overwritten) and atomically (temp file + rename). In
 * production the folder is storage copied to an object-locked (WORM) bucket,
 * so that a database administrator cannot rewrite them.
 */
export class CheckpointStore {
  readonly folder: string;

  constructor(
    dir: string,
    readonly chainId: string,
    private readonly key: Buffer,
  ) {
    this.folder = path.resolve(dir, chainId);
  }

  /** Every checkpoint file, by position; unreadable files are returned as `invalid`. */
  list(): Array<{ file: string; checkpoint?: Checkpoint; invalid?: string }> {
    if (!fs.existsSync(this.folder)) return [];
    return fs
      .readdirSync(this.folder)
      .filter((f) => /^\d{20}\.json$/.test(f))
      .sort()
      .map((file) => {
        try {
          const c = JSON.parse(fs.readFileSync(path.join(this.folder, file), 'utf8')) as Checkpoint;
          if (!checkpointSignatureValid(this.key, c)) return { file, invalid: 'bad signature' };
          if (c.chain_id !== this.chainId) return { file, invalid: 'another chain' };
          return { file, checkpoint: c };
        } catch {
          return { file, invalid: 'unreadable' };
        }
      });
  }

  latest(): Checkpoint | undefined {
    const all = this.list();
    for (let i = all.length - 1; i >= 0; i--) if (all[i].checkpoint) return all[i].checkpoint;
    return undefined;
  }

  /** Writes a checkpoint of the head unless one exists at that position. */
  write(head: { position: number; seq: string; hash: string }, now = new Date()): Checkpoint {
    const prev = this.latest();
    if (prev && prev.position === head.position) return prev;
    const unsigned: UnsignedCheckpoint = {
      v: 1,
      chain_id: this.chainId,
      position: head.position,
      seq: head.seq,
      hash: head.hash,
      time: now.toISOString(),
      prev: prev?.signature ?? null,
    };
    const c: Checkpoint = { ...unsigned, signature: signCheckpoint(this.key, unsigned) };
    fs.mkdirSync(this.folder, { recursive: true });
    const file = path.join(this.folder, `${String(head.position).padStart(20, '0')}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(c)}\n`, { mode: 0o644 });
    try {
      fs.linkSync(tmp, file); // fails if it exists: a checkpoint is never overwritten
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return c;
  }
}
