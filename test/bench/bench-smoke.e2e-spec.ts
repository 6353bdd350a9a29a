import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, PROJECT_ROOT, testDatabaseUrls } from '@lhcms/testing';

/**
 * The whole harness (`npm run bench`) with tiny sizes and durations: a fresh
 * database through the migrations, LHCMS in production mode with ums-dev,
 * the raw baseline, reads and writes (mixed covers list and create),
 * round-trip counting, the report. Checks
 * that it runs and reports; no performance assertion (the machine is shared).
 */
describe('npm run bench (smoke: tiny sizes, 0.5 s points)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-bench-smoke-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('runs every scenario against LHCMS and the baseline and writes the report', () => {
    const run = spawnSync(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'dist/ops/bench/main.js'),
        '--cases=300,40',
        '--per-page=50',
        '--deep-offset=100',
        '--scenarios=list_cursor_deep,queue_due_cursor,get,report_on_time,status,mixed',
        '--duration=0.5',
        '--warmup=0.1',
        '--concurrency=2',
        '--users-per-lab=2',
        '--no-profile',
        '--no-startup',
        '--round-trip-requests=3',
        `--db-name=lhcms_bench_smoke_${randomBytes(3).toString('hex')}`,
        '--drop-db',
        `--out=${out}`,
        '--watchdog=100',
      ],
      {
        cwd: PROJECT_ROOT,
        env: cleanEnv({
          BENCH_DATABASE_URL: testDatabaseUrls().adminUrl,
          BENCH_REDIS_URL: process.env.TEST_REDIS_URL ?? 'none',
        }),
        encoding: 'utf8',
        timeout: 110_000,
      },
    );
    expect({
      status: run.status,
      tail: run.status === 0 ? '' : `${run.stdout}\n${run.stderr}`.slice(-3000),
    }).toEqual({
      status: 0,
      tail: '',
    });

    const report = JSON.parse(fs.readFileSync(path.join(out, 'latest.json'), 'utf8'));
    const points = report.points as Array<{
      scenario: string;
      server: string;
      requests: number;
      errors: number;
    }>;
    const lhcms = points.filter((p) => p.server === 'lhcms').map((p) => p.scenario);
    const baseline = points.filter((p) => p.server === 'baseline').map((p) => p.scenario);
    expect(lhcms.sort()).toEqual([
      'get',
      'list_cursor_deep',
      'mixed',
      'queue_due_cursor',
      'report_on_time',
      'status',
    ]);
    expect(baseline.sort()).toEqual(['get', 'list_cursor_deep', 'queue_due_cursor']);
    for (const p of points) {
      expect({ p: `${p.server} ${p.scenario}`, ok: p.requests > 0 && p.errors === 0 }).toEqual({
        p: `${p.server} ${p.scenario}`,
        ok: true,
      });
    }
    const rt = report.roundTrips as Array<{
      server: string;
      scenario: string;
      pgRoundTrips: number;
    }>;
    expect(rt.find((r) => r.server === 'baseline' && r.scenario === 'get')?.pgRoundTrips).toBe(1);
    expect(
      rt.find((r) => r.server === 'lhcms' && r.scenario === 'get')?.pgRoundTrips,
    ).toBeGreaterThanOrEqual(1);
    expect(report.notes.join('\n')).not.toMatch(/deep cursor page starts at/);

    const md = fs.readFileSync(path.join(out, 'latest.md'), 'utf8');
    expect(md).toContain('| get by id | 2 |');
    expect(md).toContain('| due-date queue, cursor page | 2 |');
    expect(md).toContain('## Targets');
    expect(md).toContain('## Round trips per request');
  });
});
