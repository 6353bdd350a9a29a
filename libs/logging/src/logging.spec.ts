import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadEnv } from '@lhcms/config';
import { CLS_ID, ClsServiceManager } from 'nestjs-cls';
import pino from 'pino';
import {
  loggerOptions,
  PIPE_SAFE_WRITE,
  requestLogLevel,
  serializeError,
  STDOUT,
} from './logging.module';
import { PHI_FIELDS } from './phi-fields';

const MARKER = 'PHI-UNIT-MARKER-93';

function capture(level = 'info') {
  let text = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const env = loadEnv({ NODE_ENV: 'test', LOG_LEVEL: level });
  const logger = pino({ ...loggerOptions(env), transport: undefined }, dest);
  return {
    logger,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe('logger options', () => {
  it('writes JSON lines with level label, ISO time, service and msg', () => {
    const c = capture();
    c.logger.info({ a: 1 }, 'hello');
    expect(c.lines()[0]).toMatchObject({ level: 'info', service: 'lhcms', msg: 'hello', a: 1 });
    expect(c.lines()[0].time).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('redacts every PHI field at depths 0 to 3, and credentials in headers', () => {
    const c = capture();
    for (const f of PHI_FIELDS) {
      c.logger.info({ [f]: MARKER, a: { [f]: MARKER, b: { [f]: MARKER, c: { [f]: MARKER } } } });
    }
    c.logger.info({
      req: { headers: { authorization: `Bearer ${MARKER}`, cookie: `s=${MARKER}` } },
      headers: { authorization: MARKER, cookie: MARKER, 'x-api-key': MARKER },
      ctx: { headers: { authorization: MARKER } },
      access_token: MARKER,
      body: { refresh_token: MARKER, password: MARKER, token: MARKER },
    });
    expect(c.text()).not.toContain(MARKER);
    expect(c.text()).toContain('[REDACTED]');
    expect(c.lines()).toHaveLength(PHI_FIELDS.length + 1);
  });

  it('honours LOG_LEVEL', () => {
    const c = capture('warn');
    c.logger.info('not written');
    c.logger.warn('written');
    expect(c.lines().map((l) => l.msg)).toEqual(['written']);
  });

  it('puts the request id of the current request context on every line', () => {
    const c = capture();
    const cls = ClsServiceManager.getClsService();
    cls.runWith({ [CLS_ID]: 'req-unit-0001' }, () => c.logger.info('inside'));
    c.logger.info('outside');
    c.logger.info({ request_id: 'explicit-0002' }, 'explicit wins');
    const [inside, outside, explicit] = c.lines();
    expect(inside.request_id).toBe('req-unit-0001');
    expect(outside.request_id).toBeUndefined();
    expect(explicit.request_id).toBe('explicit-0002');
    expect(c.text().match(/request_id/g)).toHaveLength(2);
  });

  it('logs errors as type, code, message and where they were thrown: no stack trace, no row values', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint'), {
      name: 'QueryFailedError',
      code: '23505',
      query: `INSERT INTO cases (patient_name) VALUES ($1)`,
      parameters: [MARKER],
      driverError: { detail: `Key (patient_name)=(${MARKER}) already exists.` },
    });
    expect(serializeError(err)).toEqual({
      type: 'QueryFailedError',
      message: 'database error',
      code: '23505',
      at: expect.stringContaining('logging.spec'),
    });
    // A raw PostgreSQL error quotes the value it refused; a JSON SyntaxError quotes its input.
    const pgError = Object.assign(new Error(`invalid input syntax for type integer: "${MARKER}"`), {
      name: 'error',
      severity: 'ERROR',
      code: '22P02',
    });
    expect(serializeError(pgError)).toMatchObject({ message: 'database error', code: '22P02' });
    let syntax: unknown;
    try {
      JSON.parse(`{"patient": "${MARKER}`);
    } catch (e) {
      syntax = e;
    }
    expect(serializeError(syntax)).toMatchObject({ type: 'SyntaxError', message: 'syntax error' });
    const plain = serializeError(new TypeError('x is not a function')) as Record<string, unknown>;
    expect(plain).toMatchObject({ type: 'TypeError', message: 'x is not a function' });
    expect(Object.keys(plain)).not.toContain('stack');
    const c = capture();
    for (const e of [err, pgError, syntax]) c.logger.error({ err: e }, 'failed');
    expect(c.text()).not.toContain(MARKER);
    expect(c.text()).not.toContain('"stack"');
  });
});

describe('requestLogLevel', () => {
  it.each([
    ['/health/ready', 503, 'debug'],
    ['/health', 200, 'debug'],
    ['/metrics', 200, 'debug'],
    ['/api/v1/cases', 200, 'info'],
    ['/api/v1/cases/:id', 404, 'warn'],
    ['unmatched', 404, 'warn'],
    ['/api/v1/cases', 500, 'error'],
    ['/api/v1/cases', 503, 'warn'],
    ['/api/v1/cases/doctor-info/:doctor_id', 501, 'warn'],
  ])('%s %i → %s', (route, status, level) => {
    expect(requestLogLevel(route, status)).toBe(level);
  });
});

describe('stdout', () => {
  /**
   * STDOUT's options into a temporary file; `written()`: the data of every
   * non-empty fs.write to it (the process's other writes left out; sonic-boom's
   * periodic flush's empty writes not counted).
   */
  async function intoFile(
    run: (logger: pino.Logger, lines: () => string[], written: () => string[]) => Promise<void>,
  ) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-log-'));
    const file = path.join(dir, 'out.log');
    const writes = jest.spyOn(fs, 'write');
    const dest = pino.destination({ ...STDOUT, dest: file });
    try {
      const lines = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
      // (sonic-boom's descriptor; its type does not declare it.)
      const fd = () => (dest as unknown as { fd: number }).fd;
      const written = () =>
        writes.mock.calls
          .filter((c) => c[0] === fd())
          .map((c) => String(c[1]))
          .filter((c) => c !== '');
      await run(pino({}, dest), lines, written);
    } finally {
      writes.mockRestore();
      dest.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async function untilLines(lines: () => string[], n: number) {
    const until = Date.now() + 3000;
    while (lines().length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(lines()).toHaveLength(n);
  }

  it('writes lines in batches, not one write per line, and every line within a moment', () =>
    intoFile(async (logger, lines, written) => {
      // Lines a few milliseconds apart, as requests finish under load: each one found the
      // previous write done, and was written on its own.
      for (let i = 0; i < 20; i++) {
        logger.info({ i }, 'request completed');
        await new Promise((r) => setTimeout(r, 5));
      }
      await untilLines(lines, 20);
      expect(written().length).toBeLessThanOrEqual(5);
    }));

  it('writes whole lines, at most PIPE_BUF bytes at a time (atomic on a shared pipe)', () =>
    intoFile(async (logger, lines, written) => {
      // 300 lines of ~400 bytes, in bursts: ~120 KB.
      for (let burst = 0; burst < 10; burst++) {
        for (let i = 0; i < 30; i++) logger.info({ burst, i, pad: 'x'.repeat(330) }, 'line');
        await new Promise((r) => setTimeout(r, 2));
      }
      await untilLines(lines, 300);
      const chunks = written();
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(PIPE_SAFE_WRITE);
        expect(chunk.endsWith('\n')).toBe(true);
      }
    }));

  it('loses no line when the process exits at once', () => {
    const script = `
      const pino = require('pino');
      const logger = pino({}, pino.destination(${JSON.stringify(STDOUT)}));
      for (let i = 0; i < 10; i++) logger.info({ i }, 'line');
      process.exit(0);
    `;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, '..', '..', '..'),
      encoding: 'utf8',
    });
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { i: number }).i),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
