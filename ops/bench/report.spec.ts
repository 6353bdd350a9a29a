import type { PointResult } from './load';
import { percentile } from './load';
import {
  attachmentTargets,
  type AttachmentsReport,
  type BackgroundPair,
  type BenchReport,
  checkTargets,
  compare,
  fmtMBps,
  fmtSize,
  renderAttachments,
  renderMarkdown,
  resultsTable,
  throughputRows,
  type TransferRun,
} from './report';

function point(
  over: Partial<PointResult> & Pick<PointResult, 'scenario' | 'server' | 'connections' | 'rps'>,
): PointResult {
  return {
    seconds: 10,
    requests: over.rps * 10,
    latencyMs: { p50: 2, p90: 5, p99: 10, max: 20, mean: 3 },
    errors: 0,
    errorDetail: { socket: 0, timeouts: 0, non2xx: 0, byStatus: { '200': over.rps * 10 } },
    rssPeakMB: 200,
    rssMeanMB: 180,
    serverCpuMsPerReq: 1,
    cpu: { machine: 180, server: 90, harness: 40, postgres: 40, other: 10 },
    loadAvg1AtStart: 1.5,
    settleMs: 0,
    ...over,
  };
}

const points: PointResult[] = [
  point({
    scenario: 'get',
    server: 'baseline',
    connections: 64,
    rps: 8000,
    serverCpuMsPerReq: 0.1,
  }),
  point({
    scenario: 'get',
    server: 'lhcms',
    connections: 64,
    rps: 4400,
    serverCpuMsPerReq: 0.4,
    latencyMs: { p50: 10, p90: 20, p99: 40, max: 60, mean: 12 },
  }),
  point({ scenario: 'list_page1', server: 'baseline', connections: 64, rps: 1000 }),
  point({
    scenario: 'list_page1',
    server: 'lhcms',
    connections: 64,
    rps: 400,
    errors: 2,
    latencyMs: { p50: 20, p90: 40, p99: 80, max: 90, mean: 25 },
  }),
  point({
    scenario: 'list_cursor_deep',
    server: 'lhcms',
    connections: 64,
    rps: 500,
    latencyMs: { p50: 25, p90: 40, p99: 60, max: 90, mean: 25 },
    rssPeakMB: 320,
  }),
  point({ scenario: 'create', server: 'lhcms', connections: 64, rps: 900 }),
];

describe('bench report', () => {
  it('gives every LHCMS point its ratio to the baseline point of the same scenario and concurrency', () => {
    const c = compare(points);
    expect(c).toHaveLength(4);
    const get = c.find((x) => x.scenario === 'get')!;
    expect(get.rpsRatio).toBeCloseTo(0.55);
    expect(get.p50Ratio).toBeCloseTo(5);
    expect(get.cpuRatio).toBeCloseTo(4);
    expect(c.find((x) => x.scenario === 'create')!.rpsRatio).toBeUndefined();
  });

  it('checks the issue #9 targets without asserting them', () => {
    const t = checkTargets({
      points,
      startup: [
        { kind: 'node', command: 'node', healthMs: 1200 },
        { kind: 'npm-start', command: 'npm start', healthMs: 6000 },
      ],
    });
    const v = Object.fromEntries(t.map((x) => [x.target.split(':')[0], x.verdict]));
    expect(v['get at concurrency 64']).toBe('met');
    expect(v['list_page1 at concurrency 64']).toBe('missed'); // 40 % and errors
    expect(v['deep list via cursor']).toBe('met'); // 25 / 20 = 1.25
    expect(v['steady-state server RSS under load ≤ 300 MB']).toBe('missed');
    expect(v['start to /health 200 ≤ 3 s (external database)']).toBe('missed'); // npm start counts
    expect(t.find((x) => x.target.startsWith('start'))!.measured).toMatch(/1\.20 s.*6\.00 s/);
  });

  it('says "not measured" when a point is missing', () => {
    const t = checkTargets({ points: points.filter((p) => p.server === 'lhcms'), startup: [] });
    expect(t.find((x) => x.target.startsWith('get'))!.verdict).toBe('not measured');
    expect(t.find((x) => x.target.startsWith('start'))!.verdict).toBe('not measured');
  });

  it('renders a table with ratios and a full markdown report', () => {
    const table = resultsTable(points, 10_000);
    expect(table).toContain(
      '| get by id | 64 | 4400 | 8000 | 55 % | 10.0 / 40.0 | 2.00 / 10.0 | 0 / 0 | — / — | 200 | 0.40 / 0.10 | 10 |',
    );
    // A point with errors is flagged, never hidden.
    expect(table).toContain('| **2 / 0 FLAGGED** |');
    expect(table).toContain('| create | 64 | 900 | — | — |');
    const report: BenchReport = {
      version: 1,
      startedAt: '2026-11-28T10:00:00.000Z',
      finishedAt: '2026-11-28T10:10:00.000Z',
      label: 'first measurement',
      git: { commit: 'abcdef1234567890', branch: 'issue-9-bench', dirty: false },
      machine: {
        hostname: 'h',
        cores: 2,
        cpuModel: 'AMD EPYC',
        memoryGiB: 24,
        kernel: 'Linux',
        node: 'v24',
        loadAvgAtStart: [1, 2, 3],
      },
      config: { deepOffset: 10_000, duration: 10, warmup: 2, logLevel: 'info' },
      database: {
        name: 'lhcms_bench',
        labIds: ['9001'],
        labSizes: [100_000],
        seedMode: 'sql',
        seedSeconds: 20,
        reused: false,
      },
      lhcms: { readyMs: 1500, idleRssMB: 150 },
      points,
      roundTrips: [],
      profiles: [],
      startup: [],
      notes: ['a note'],
    };
    const md0 = renderMarkdown(report);
    expect(md0).not.toContain('## Main comparison');
    const [lb, ll] = [points[0], points[1]];
    report.interleaved = {
      sliceSeconds: 5,
      rounds: 6,
      warmup: 2,
      checkEvery: 50,
      startedAt: '2026-11-28T10:00:00.000Z',
      finishedAt: '2026-11-28T10:05:00.000Z',
      loadAvg: { start: [1, 2, 3], end: [1.5, 2, 3] },
      results: [
        {
          scenario: 'get',
          connections: 64,
          lhcms: { ...ll, checks: { checked: 80, failed: 0, problems: [] } },
          baseline: { ...lb, checks: { checked: 160, failed: 0, problems: [] } },
          ratio: 0.55,
          lhcmsTail: 4,
          slices: [{ round: 0, server: 'baseline', rps: 8000, errors: 0, load1: 1.2 }],
        },
      ],
      audit: {
        ok: true,
        rows: { read: 10 },
        counts: {},
        detail: 'read: 10 rows for 10 successful requests',
      },
    };
    const md = renderMarkdown(report);
    expect(md).toContain('## Main comparison: get and list page 1, interleaved (issue 18)');
    expect(md).toContain(
      '| get by id | 64 | 4400 | 8000 | 55 % | 10.0 / 40.0 | 2.00 / 10.0 | 4.0 | 0 / 0 | 80 / 160 | 10 / 10 |',
    );
    expect(md).toContain('load average 1.00 / 2.00 / 3.00 at the start');
    expect(md).toMatch(/\| get at c=64 \(interleaved\).*\| met \|/);
    expect(md).toMatch(/\| get at c=16 \(interleaved\).*\| not measured \|/);
    expect(md).toContain(
      'Audit completeness (rows written during the comparison, warm-ups included): ok',
    );
    expect(md).toContain('# LHCMS benchmark — 2026-11-28 10:00 UTC');
    expect(md).toContain('## Targets');
    expect(md).toContain('load average at start: 1.00, 2.00, 3.00');
    expect(md).toContain('- a note');
  });

  it('percentiles are nearest-rank over the exact samples', () => {
    const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(percentile(s, 50)).toBe(5);
    expect(percentile(s, 99)).toBe(10);
    expect(percentile(new Float64Array(0), 50)).toBe(0);
  });
});

describe('bench report: attachments (issue #20)', () => {
  const run = (
    over: Partial<TransferRun> & Pick<TransferRun, 'server' | 'op' | 'workload' | 'mbps'>,
  ): TransferRun => ({
    pair: 0,
    files: over.workload === 'large' ? 1 : 100,
    concurrency: over.workload === 'large' ? 1 : 8,
    bytes: 200 * 2 ** 20,
    seconds: 1,
    ...over,
  });
  const bg = (
    scenario: 'get' | 'list_page1',
    without: number,
    withRps: number,
  ): BackgroundPair => ({
    scenario,
    connections: 16,
    without: point({ scenario, server: 'lhcms', connections: 16, rps: without }),
    with: point({ scenario, server: 'lhcms', connections: 16, rps: withRps }),
    uploads: 12,
    uploadFailures: 0,
    uploadMBps: 30,
  });
  const report = (over: Partial<AttachmentsReport> = {}): AttachmentsReport => ({
    store: 'filesystem',
    largeBytes: 209_715_184,
    smallBytes: 2_097_134,
    smallCount: 100,
    concurrency: 8,
    backgroundConcurrency: 2,
    backgroundBytes: 2_097_134,
    transfers: [
      // Two pairs of the large file: the medians are compared.
      run({ server: 'baseline', op: 'upload', workload: 'large', mbps: 400 }),
      run({ server: 'baseline', op: 'upload', workload: 'large', mbps: 200, pair: 1 }),
      run({ server: 'baseline', op: 'upload', workload: 'large', mbps: 300, pair: 2 }),
      run({
        server: 'lhcms',
        op: 'upload',
        workload: 'large',
        mbps: 150,
        rssBeforeMB: 180,
        rssPeakMB: 210,
        rssGrowthMB: 30,
      }),
      run({
        server: 'lhcms',
        op: 'upload',
        workload: 'large',
        mbps: 170,
        pair: 1,
        rssBeforeMB: 180,
        rssPeakMB: 200,
        rssGrowthMB: 20,
      }),
      run({ server: 'baseline', op: 'download', workload: 'large', mbps: 500 }),
      run({
        server: 'lhcms',
        op: 'download',
        workload: 'large',
        mbps: 300,
        rssBeforeMB: 190,
        rssPeakMB: 240,
        rssGrowthMB: 50,
      }),
      run({ server: 'baseline', op: 'upload', workload: 'small', mbps: 100 }),
      run({ server: 'lhcms', op: 'upload', workload: 'small', mbps: 60 }),
      run({
        server: 'baseline',
        op: 'download',
        workload: 'small',
        mbps: 200,
        serverCpuMsPerMB: 1.5,
      }),
      run({ server: 'lhcms', op: 'download', workload: 'small', mbps: 120, serverCpuMsPerMB: 4 }),
    ],
    background: [bg('get', 1000, 950), bg('list_page1', 400, 380)],
    checks: [{ name: 'the stored file is not the plaintext', ok: true, detail: 'sha differs' }],
    ...over,
  });
  const verdicts = (a: AttachmentsReport) => attachmentTargets(a).map((t) => t.verdict);

  it('compares median MB/s per workload and direction', () => {
    const rows = throughputRows(report().transfers);
    expect(rows.map((r) => `${r.workload} ${r.op}`)).toEqual([
      'large upload',
      'large download',
      'small upload',
      'small download',
    ]);
    expect(rows[0]).toMatchObject({
      lhcmsMBps: 160,
      baselineMBps: 300,
      runs: { lhcms: 2, baseline: 3 },
    });
    expect(rows[0].ratio).toBeCloseTo(160 / 300);
    expect(rows[1].ratio).toBeCloseTo(0.6);
  });

  it('gives the three targets their verdicts', () => {
    expect(verdicts(report())).toEqual(['met', 'met', 'met']);
    // Small uploads at 40 % of the baseline; RSS grew by 64 MB (the bound is strict); list with uploads at 80 %.
    const bad = report({
      transfers: report().transfers.map((t) =>
        t.server === 'lhcms' && t.workload === 'small' && t.op === 'upload'
          ? { ...t, mbps: 40 }
          : t.server === 'lhcms' && t.op === 'download' && t.workload === 'large'
            ? { ...t, rssGrowthMB: 64 }
            : t,
      ),
      background: [bg('get', 1000, 950), bg('list_page1', 400, 320)],
    });
    const t = attachmentTargets(bad);
    expect(t.map((x) => x.verdict)).toEqual(['NOT met', 'NOT met', 'NOT met']);
    expect(t[0].measured).toContain('100 × 2.0 MB upload: 40 % (40.0 vs 100 MB/s)');
    expect(t[1].measured).toBe(
      'upload 30.0 MB, download 64.0 MB (worst of 3 transfers, sampled every 100 ms)',
    );
    expect(t[2].measured).toBe('get c=16: 95 %, list_page1 c=16: 80 %');
  });

  it('says "not measured" when a part is missing or a check failed', () => {
    expect(verdicts(report({ transfers: [], background: [] }))).toEqual([
      'not measured',
      'not measured',
      'not measured',
    ]);
    const failed = report({
      checks: [{ name: 'the stored file is not the plaintext', ok: false, detail: 'same bytes' }],
    });
    expect(verdicts(failed)).toEqual(['not measured', 'not measured', 'not measured']);
    expect(renderAttachments(failed)).toContain(
      '**Scenario FAILED**: the stored file is not the plaintext: same bytes',
    );
    // Errors during a get/list point make the comparison worthless: not "met".
    const errs = report({
      background: [
        {
          ...bg('get', 1000, 990),
          with: point({ scenario: 'get', server: 'lhcms', connections: 16, rps: 990, errors: 3 }),
        },
      ],
    });
    expect(verdicts(errs)[2]).toBe('NOT met');
  });

  it('renders the section with the targets, the runs and the get/list pairs', () => {
    const md = renderAttachments(report());
    expect(md).toContain('## Attachments (issue #20)');
    expect(md).toContain('| 1 × 200 MB | upload | 160 | 300 | 53 % | 2 / 3 | — / — |');
    expect(md).toContain('| 100 × 2.0 MB, c=8 | download | 120 | 200 | 60 % | 1 / 1 | 4.0 / 1.5 |');
    expect(md).toContain('| 0 | lhcms | large | upload | 1.00 | 150 | — | 180 → 210 (30.0) |');
    expect(md).toContain('| get by id | 16 | 1000 / 950 | 95 % |');
    expect(md).toContain('- ok: the stored file is not the plaintext — sha differs');
    expect(fmtSize(262_144)).toBe('256 KB');
    expect(fmtMBps(Number.NaN)).toBe('—');
  });
});
