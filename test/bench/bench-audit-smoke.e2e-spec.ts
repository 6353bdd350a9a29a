import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cleanEnv, PROJECT_ROOT, testDatabaseUrls } from '@lhcms/testing';

/**
 * `npm run bench:audit` with tiny sizes and sub-second slices: a fresh
 * database through the migrations, two API servers (auditing off and on)
 * with ums-dev, the interleaved pairs and the summary. Checks that it runs
 * and reports, and that the "on" arm really audited; no performance
 * assertion (the target is judged by full runs, see docs/performance.md).
 */
/**
 * One run with tiny sizes; `extra` adds variables. Checks it finished: 0 target met, 1 not met
 * (possible in half-second slices on a shared machine); a failure of the harness itself
 * ("bench:audit failed", also exit code 1) or anything else fails the test.
 */
function benchAudit(extra: Record<string, string>) {
  const run = spawnSync(
    process.execPath,
    [path.join(PROJECT_ROOT, 'ops/bench/audit-overhead.mjs')],
    {
      cwd: PROJECT_ROOT,
      env: cleanEnv({
        BENCH_DATABASE_URL: testDatabaseUrls().adminUrl,
        BENCH_CASES: '60',
        BENCH_CONNECTIONS: '4',
        BENCH_SECONDS: '0.5',
        BENCH_WARMUP: '0.3',
        BENCH_ROUNDS: '2',
        ...extra,
      }),
      encoding: 'utf8',
      timeout: 110_000,
    },
  );
  const finished = (run.status === 0 || run.status === 1) && !/bench:audit failed/.test(run.stderr);
  expect({ finished, stderr: finished ? '' : run.stderr.slice(-3000) }).toEqual({
    finished: true,
    stderr: '',
  });
  return run;
}

describe('npm run bench:audit (smoke: tiny sizes, 0.5 s slices)', () => {
  it('runs both endpoints in off/on pairs and prints the summary and the verdict', () => {
    const run = benchAudit({});
    const lines = run.stdout.split('\n');
    for (const scenario of ['list', 'get']) {
      expect(lines.filter((l) => new RegExp(`^  ${scenario} +pair +\\d+ `).test(l))).toHaveLength(
        2,
      );
      const row = lines.find((l) => l.startsWith(`| ${scenario} |`));
      expect(row).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      // Both arms served requests, each arm's API process and database backends did work for
      // them (CPU ms per request, "off → on"), and the "on" arm's reads left audit rows in batches.
      expect(Number(cells[2])).toBeGreaterThan(0);
      expect(Number(cells[3])).toBeGreaterThan(0);
      for (const cpu of [cells[8], cells[9]]) {
        const [off, on] = cpu.split('→').map((x) => Number(x.trim()));
        expect({ off, on }).toEqual({ off: expect.any(Number), on: expect.any(Number) });
        expect(Number.isNaN(off) || Number.isNaN(on)).toBe(false);
      }
      expect(Number(cells[11])).toBeGreaterThanOrEqual(1);
    }
    expect(run.stdout).toMatch(/^target: auditing costs < 15 % of throughput — (met|NOT met)$/m);
  });

  it('BENCH_OUTBOX=1: create and status with the outbox trigger off/on, each slice checked for its events', () => {
    // The harness fails (exit code 1 with "bench:audit failed") when a slice wrote outbox
    // events with the trigger off, or fewer than its writes with it on.
    const run = benchAudit({ BENCH_OUTBOX: '1' });
    const lines = run.stdout.split('\n');
    expect(run.stdout).toMatch(/^outbox write cost: 4 connections/m);
    for (const scenario of ['create', 'status']) {
      expect(lines.filter((l) => new RegExp(`^  ${scenario} +pair +\\d+ `).test(l))).toHaveLength(
        2,
      );
      const cells = lines
        .find((l) => l.startsWith(`| ${scenario} |`))!
        .split('|')
        .map((c) => c.trim());
      expect(Number(cells[2])).toBeGreaterThan(0);
      expect(Number(cells[3])).toBeGreaterThan(0);
    }
    expect(run.stdout).toMatch(
      /^target: the outbox costs ≤ 10 % of write throughput — (met|NOT met)$/m,
    );
  });
});
