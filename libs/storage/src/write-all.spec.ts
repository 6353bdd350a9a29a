import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeAll } from './write-all';

describe('writeAll', () => {
  const chunks = [Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('ij')];

  it('writes every chunk, in order, to a real file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'write-all-'));
    try {
      const fh = await open(path.join(dir, 'f'), 'wx');
      await writeAll(fh, chunks, 10);
      await writeAll(fh, [Buffer.from('!')], 1);
      await fh.close();
      expect(readFileSync(path.join(dir, 'f'), 'utf8')).toBe('abcdefghij!');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('goes on after short writes, from the first byte not written', async () => {
    // A file system may write fewer bytes than asked (a full disk about to refuse, a signal):
    // this handle writes at most 4 bytes per call.
    const written: string[] = [];
    const short = {
      writev: (bufs: readonly NodeJS.ArrayBufferView[]) => {
        const all = Buffer.concat(
          bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
        );
        const n = Math.min(4, all.length);
        written.push(all.subarray(0, n).toString());
        return Promise.resolve({ bytesWritten: n, buffers: bufs });
      },
    };
    await writeAll(short as never, chunks, 10);
    expect(written).toEqual(['abcd', 'efgh', 'ij']);
  });
});
