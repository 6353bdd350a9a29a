import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { runInNewContext } from 'node:vm';
import { exposedGc, type GcFunction, TransferGc } from './transfer-gc';

describe('TransferGc', () => {
  const MiB = 2 ** 20;

  it('collects the young generation once per pace of bytes, across transfers, and not before', () => {
    const calls: unknown[] = [];
    const pacer = new TransferGc(10, (o) => calls.push(o));
    pacer.note(4);
    pacer.note(5);
    expect(calls).toEqual([]);
    pacer.note(1); // 10 bytes: the pace
    expect(calls).toEqual([{ type: 'minor', execution: 'sync' }]);
    pacer.note(9);
    expect(calls).toHaveLength(1);
    pacer.note(25); // one collection for a large chunk, and the count starts again
    expect(calls).toHaveLength(2);
    pacer.note(9);
    expect(calls).toHaveLength(2);
  });

  it('does nothing when turned off, without a collector, or for empty and nonsense counts', () => {
    const calls: unknown[] = [];
    const gc: GcFunction = (o) => calls.push(o);
    const off = new TransferGc(0, gc);
    off.note(10 * MiB);
    const none = new TransferGc(1, null);
    none.note(10 * MiB);
    const on = new TransferGc(1, gc);
    on.note(0);
    on.note(-5);
    on.note(Number.NaN);
    expect(calls).toEqual([]);
  });

  it("gets V8's collector without leaving --expose-gc on for code loaded later", () => {
    const gc = exposedGc();
    expect(typeof gc).toBe('function');
    expect(exposedGc()).toBe(gc); // one lookup per process
    expect(() => gc?.({ type: 'minor', execution: 'sync' })).not.toThrow();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  /**
   * The reason it exists (ADR 0025): buffers made and dropped by a transfer
   * make V8 mark the whole old generation about every 64 MB; paced
   * young-generation collections free them first. Each arm runs in a fresh
   * process (Jest's own heap collects on its own schedule) holding ~70 MB of
   * live objects, as the API does, and sends 256 MiB through AES-GCM in 64
   * KiB chunks — a fresh input and a fresh output buffer each, as a socket
   * read and a cipher give them. Full collections are counted from
   * perf_hooks 'gc' entries.
   */
  it('keeps a transfer of fresh buffers from triggering full collections', () => {
    const script = `
      import { createCipheriv, randomBytes } from 'node:crypto';
      import { constants, PerformanceObserver } from 'node:perf_hooks';
      import { TransferGc } from ${JSON.stringify(path.join(__dirname, 'transfer-gc.ts'))};
      const MiB = 2 ** 20;
      const live = Array.from({ length: 900000 }, (_, i) => ({ i, s: 'v' + i }));
      const pacer = process.argv[1] === 'paced' ? new TransferGc(8 * MiB) : undefined;
      let majors = 0;
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
      });
      obs.observe({ entryTypes: ['gc'] });
      const cipher = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
      let out = 0;
      for (let sent = 0; sent < 256 * MiB; sent += 65536) {
        const chunk = Buffer.allocUnsafe(65536);
        out += cipher.update(chunk).length;
        pacer?.note(chunk.length);
        if (sent % (4 * MiB) === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 50));
      obs.disconnect();
      console.log(JSON.stringify({ majors, out, live: live.length }));
    `;
    const majorsWhen = (arm: 'paced' | 'unpaced'): number => {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, arm], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'ignore'], // Node's warning about the module type of a .ts file
      });
      const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { majors: number; out: number };
      expect(r.out).toBe(256 * 2 ** 20);
      return r.majors;
    };
    expect(majorsWhen('unpaced')).toBeGreaterThanOrEqual(3);
    expect(majorsWhen('paced')).toBeLessThanOrEqual(1);
  });
});
