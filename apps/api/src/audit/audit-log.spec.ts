import { execFileSync } from 'node:child_process';
import fs, { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '@lhcms/config';
import { PHI_FIELDS, PIPE_SAFE_WRITE } from '@lhcms/logging';
import { AUDIT_COLUMNS, systemRecord } from './audit-event';
import { AuditLog, auditLine } from './audit-log';

const event = () => ({
  ...systemRecord({
    interaction: 'search',
    resource_type: 'case',
    tool: 't',
    subjectCount: 2,
    query: null,
  }),
  lab_id: '1',
  entity_ids: ['4', '5'],
});

describe('audit log stream', () => {
  it('no audit column is a PHI field, and a line carries the columns only, whatever else the event holds', () => {
    expect(AUDIT_COLUMNS.filter((c) => (PHI_FIELDS as readonly string[]).includes(c))).toEqual([]);
    const withPhi = {
      ...event(),
      seq: '7',
      patient_info: { patient_id: 'PHI-MARKER' },
      case_name: 'PHI',
    };
    const line = JSON.parse(auditLine(withPhi, '2026-11-28T00:00:00.000Z'));
    expect(Object.keys(line)).toEqual([
      'level',
      'time',
      'log',
      'service',
      ...AUDIT_COLUMNS,
      'seq',
      'msg',
    ]);
    expect(line).toMatchObject({
      level: 'info',
      log: 'audit',
      service: 'lhcms',
      lab_id: '1',
      entity_ids: ['4', '5'],
      seq: '7',
      occurred_at: withPhi.occurred_at.toISOString(),
      msg: 'audit search success',
    });
    expect(JSON.stringify(line)).not.toContain('PHI');
  });

  it('ships a batch as one JSON line per event (seq null until known), all of it written by shutdown even right after start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lhcms-audit-log-'));
    try {
      const file = join(dir, 'audit.log');
      const text = () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
      const log = new AuditLog({ AUDIT_LOG_DESTINATION: file } as Env);
      log.ship([event(), { ...event(), seq: '9' }]);
      log.ship([]);
      // Shut down at once, in the same tick: whatever was shipped is in the file afterwards
      // (the file is opened synchronously; opened asynchronously, it was not ready yet and
      // flushSync had nothing to write to; and a write already in flight is waited for).
      await log.onApplicationShutdown();
      const lines = text()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.log, l.seq])).toEqual([
        ['audit', null],
        ['audit', '9'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('into a pipe, a large batch leaves in whole lines of at most PIPE_BUF bytes per write (the pipe may be shared with the app logs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lhcms-audit-log-'));
    const writes = jest.spyOn(fs, 'write');
    const syncWrites = jest.spyOn(fs, 'writeSync');
    const fifo = join(dir, 'audit.pipe');
    execFileSync('mkfifo', [fifo]);
    // The reading end first (non-blocking), so that opening the writing end does not wait.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    let text = '';
    const drain = () => {
      const buf = Buffer.alloc(65536);
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(reader, buf);
        } catch {
          return; // EAGAIN: nothing waiting now
        }
        if (n <= 0) return;
        text += buf.toString('utf8', 0, n);
      }
    };
    const timer = setInterval(drain, 5);
    try {
      const log = new AuditLog({ AUDIT_LOG_DESTINATION: fifo } as Env);
      log.ship(Array.from({ length: 60 }, (_, i) => ({ ...event(), seq: String(i) })));
      await log.onApplicationShutdown();
      const until = Date.now() + 2000;
      while (text.split('\n').length <= 60 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
      }
      drain();
      const seqs = text
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: string }).seq);
      expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => String(i)));
      // Written asynchronously, then the rest synchronously at shutdown.
      // (Only the stream's own writes: other code in this process writes too.)
      const fd = (log as unknown as { destination: { fd: number } }).destination.fd;
      const chunks = [...writes.mock.calls, ...syncWrites.mock.calls]
        .filter((c) => c[0] === fd)
        .map((c) => String(c[1]))
        .filter((c) => c !== '');
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(PIPE_SAFE_WRITE);
        expect(chunk.endsWith('\n')).toBe(true);
      }
    } finally {
      clearInterval(timer);
      writes.mockRestore();
      syncWrites.mockRestore();
      fs.closeSync(reader);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
