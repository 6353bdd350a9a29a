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
 * round-trip counting, the report, and the attachments group (a 2 MB file and
 * 3 × 256 KB, get with and without uploads). get and list page 1 run as the
 * interleaved main comparison (2 rounds of 0.5 s slices). Checks that it runs
 * and reports, that the payload check looked at answers of every point and of
 * both arms, and that the audit trail counted every request; no performance
 * assertion (the machine is shared).
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
        '--scenarios=list_page1,list_cursor_deep,queue_due_cursor,get,report_on_time,status,mixed,attachments',
        '--interleave-concurrency=2',
        '--slice=0.5',
        '--rounds=2',
        // Every answer: a tiny run has few, and the check must be seen to run.
        '--check-every=1',
        '--att-large-mb=2',
        '--att-small-count=3',
        '--att-small-mb=0.25',
        '--att-background-mb=0.25',
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
        '--watchdog=200',
      ],
      {
        cwd: PROJECT_ROOT,
        env: cleanEnv({
          BENCH_DATABASE_URL: testDatabaseUrls().adminUrl,
          BENCH_REDIS_URL: process.env.TEST_REDIS_URL ?? 'none',
        }),
        encoding: 'utf8',
        timeout: 210_000,
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
      checks?: { checked: number; failed: number };
      interleaved?: { slices: number };
    }>;
    const lhcms = points.filter((p) => p.server === 'lhcms').map((p) => p.scenario);
    const baseline = points.filter((p) => p.server === 'baseline').map((p) => p.scenario);
    expect(lhcms.sort()).toEqual([
      'get',
      'list_cursor_deep',
      'list_page1',
      'mixed',
      'queue_due_cursor',
      'report_on_time',
      'status',
    ]);
    expect(baseline.sort()).toEqual(['get', 'list_cursor_deep', 'list_page1', 'queue_due_cursor']);
    for (const p of points) {
      // Every point answered without errors, and (but the report, which carries no PHI) had its
      // payload checked: LHCMS's plaintext PHI against the seed, the baseline's case ids.
      const checked = p.scenario === 'report_on_time' ? 0 : (p.checks?.checked ?? 0);
      expect({
        p: `${p.server} ${p.scenario}`,
        ok: p.requests > 0 && p.errors === 0,
        checked: checked > 0 || p.scenario === 'report_on_time',
        failed: p.checks?.failed ?? 0,
      }).toEqual({ p: `${p.server} ${p.scenario}`, ok: true, checked: true, failed: 0 });
    }

    // The main comparison: get and list page 1 interleaved, both arms merged over 2 slices each,
    // and an audit row for every successful LHCMS request.
    const iv = report.interleaved as {
      results: Array<{ scenario: string; connections: number; ratio: number }>;
      audit: { ok: boolean; rows: Record<string, number>; detail: string };
    };
    expect(iv.results.map((r) => `${r.scenario}@${r.connections}`).sort()).toEqual([
      'get@2',
      'list_page1@2',
    ]);
    expect(iv.results.every((r) => r.ratio > 0)).toBe(true);
    expect(
      points
        .filter((p) => p.interleaved)
        .map((p) => `${p.server} ${p.scenario} ${p.interleaved?.slices}`)
        .sort(),
    ).toEqual(['baseline get 2', 'baseline list_page1 2', 'lhcms get 2', 'lhcms list_page1 2']);
    expect({ ok: iv.audit.ok, detail: iv.audit.detail }).toEqual({
      ok: true,
      detail: expect.stringMatching(/^read: \d+ rows .*; search: \d+ rows /),
    });
    expect(iv.audit.rows.read).toBeGreaterThan(0);
    expect(iv.audit.rows.search).toBeGreaterThan(0);
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
    expect(md).toContain('## Main comparison: get and list page 1, interleaved (issue 18)');
    expect(md).toMatch(
      /\| list page 1 \(interleaved\): LHCMS p99 ≤ 3 × its p50 \|.*\| (met|missed) \|/,
    );
    expect(md).toContain(
      'Audit completeness (rows written during the comparison, warm-ups included): ok',
    );
    expect(run.stdout).toMatch(
      /payload checks: [1-9]\d* sampled answers compared with the seed, none wrong/,
    );
    expect(md).toContain('| due-date queue, cursor page | 2 |');
    expect(md).toContain('## Targets');
    expect(md).toContain('## Round trips per request');

    // The attachments group: every run measured, the real path checked, three verdicts.
    const att = report.attachments as {
      transfers: Array<{ server: string; op: string; workload: string; mbps: number }>;
      background: Array<{ scenario: string; uploads: number }>;
      checks: Array<{ name: string; ok: boolean; detail: string }>;
      error?: string;
    };
    expect(att.error).toBeUndefined();
    expect(att.checks.filter((c) => !c.ok)).toEqual([]);
    expect(att.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'the stored file is not the plaintext (SHA-256)',
        'no plaintext in the stored file',
        "the stored file carries the cipher's overhead",
        'lhcms large download = the source',
        'baseline large download = the source',
      ]),
    );
    const runs = att.transfers.map((t) => `${t.workload} ${t.op} ${t.server}`);
    for (const r of [
      'large upload lhcms',
      'large upload baseline',
      'large download lhcms',
      'large download baseline',
      'small upload lhcms',
      'small download baseline',
    ])
      expect(runs).toContain(r);
    expect(att.transfers.every((t) => t.mbps > 0)).toBe(true);
    expect(att.background.map((b) => b.scenario).sort()).toEqual(['get', 'list_page1']);
    expect(att.background.every((b) => b.uploads > 0)).toBe(true);
    expect(md).toContain('## Attachments (issue #20)');
    expect(md).toMatch(/\| upload and download throughput ≥ 50 % .*\| (met|NOT met) \|/);
    expect(md).toMatch(/\| server RSS growth .*\| (met|NOT met) \|/);
    expect(md).toMatch(/\| get and list page 1 unchanged .*\| (met|NOT met) \|/);
  });
});
