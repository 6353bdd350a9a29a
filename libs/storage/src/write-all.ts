import type { FileHandle } from 'node:fs/promises';

/** Writes every byte of `chunks` (`total` bytes), going on after a short write. */
export async function writeAll(
  fh: Pick<FileHandle, 'writev'>,
  chunks: Buffer[],
  total: number,
): Promise<void> {
  let left = chunks;
  let remaining = total;
  while (remaining > 0) {
    const { bytesWritten } = await fh.writev(left);
    remaining -= bytesWritten;
    if (remaining === 0) return;
    // A short write: drop what went out and write the rest.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of left) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    left = rest;
  }
}
