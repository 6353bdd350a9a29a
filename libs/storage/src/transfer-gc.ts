import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's collector as `--expose-gc` gives it. */
export type GcFunction = (options: { type: 'minor' | 'major'; execution?: 'sync' }) => unknown;

let exposed: GcFunction | null | undefined;

/**
 * V8's `gc` function without starting the process with `--expose-gc`: the
 * flag is set for one new context, its `gc` kept, and the flag cleared again
 * (what Jest's leak detector does). null when this V8 refuses.
 */
export function exposedGc(): GcFunction | null {
  if (exposed !== undefined) return exposed;
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return (exposed = own as GcFunction);
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    exposed = typeof fn === 'function' ? (fn as GcFunction) : null;
  } catch {
    exposed = null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return exposed;
}

/**
 * Paces garbage collection for byte streams (ADR 0025). Every chunk a
 * transfer handles is a fresh ArrayBuffer outside the V8 heap (a socket
 * read, a cipher's output, a file read) that dies within milliseconds. Few
 * JavaScript objects are made meanwhile, so no young-generation collection
 * runs to free them; V8 counts them as external memory and, about every 64
 * MB of it, marks and compacts the whole old generation (~60 MB of the
 * application's own objects) — a third to a half of a transfer's CPU here.
 * A young-generation collection every `everyBytes` bytes transferred frees
 * those buffers for a millisecond or two before that limit is reached.
 *
 * One instance per process: concurrent transfers add to one count.
 * `everyBytes` 0 leaves collection to V8.
 */
export class TransferGc {
  private pending = 0;
  private readonly everyBytes: number;
  private readonly gc: GcFunction | null;

  // No parameter properties: the spec loads this file with Node's type stripping.
  constructor(everyBytes: number, gc: GcFunction | null = everyBytes > 0 ? exposedGc() : null) {
    this.everyBytes = everyBytes;
    this.gc = gc;
  }

  /** `bytes` more went through a transfer; collects the young generation when the pace is reached. */
  note(bytes: number): void {
    if (this.gc === null || this.everyBytes <= 0 || !(bytes > 0)) return;
    this.pending += bytes;
    if (this.pending < this.everyBytes) return;
    this.pending = 0;
    this.gc({ type: 'minor', execution: 'sync' });
  }
}
