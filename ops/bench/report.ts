import type { ScenarioName } from './config';
import { type InterleavedResult, interleavedTargets } from './interleave';
import type { PointResult } from './load';
import type { MachineInfo } from './machine';
import type { ProfileSummary } from './profile';

export interface RoundTrip {
  server: 'lhcms' | 'baseline';
  scenario: ScenarioName;
  requests: number;
  /** Per request: PostgreSQL round trips (simple queries + Syncs), statements parsed, Redis commands. */
  pgRoundTrips: number;
  pgStatements: number;
  redisCommands: number;
  redisByCommand: Record<string, number>;
  /** The statements of one request, in order (truncated). */
  statements: string[];
  statuses: Record<string, number>;
}

export interface ProfileRun {
  scenario: ScenarioName;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  file: string;
  summary: ProfileSummary;
}

export interface StartupTrial {
  kind: 'node' | 'npm-start';
  command: string;
  /** ms from spawn to the first 200 of /health. */
  healthMs: number;
}

/** Audit rows written during the interleaved comparison against LHCMS's requests. */
export interface AuditCheck {
  ok: boolean;
  /** Rows by interaction (read, search). */
  rows: Record<string, number>;
  /** LHCMS's requests by the interaction they are audited as (warm-ups included). */
  counts: Record<string, { sent: number; ok2xx: number }>;
  detail: string;
}

/** The interleaved main comparison (issue 18). */
export interface InterleavedReport {
  sliceSeconds: number;
  rounds: number;
  warmup: number;
  checkEvery: number;
  startedAt: string;
  finishedAt: string;
  /** 1-min load average at the start and end of the comparison. */
  loadAvg: { start: number[]; end: number[] };
  results: InterleavedResult[];
  audit?: AuditCheck;
}

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  label: string;
  git: { commit: string; branch: string; dirty: boolean };
  machine: MachineInfo;
  config: Record<string, unknown>;
  database: {
    name: string;
    labIds: string[];
    labSizes: number[];
    seedMode: string;
    seedSeconds: number;
    reused: boolean;
  };
  lhcms: { readyMs: number; idleRssMB: number; logMB?: number };
  points: PointResult[];
  roundTrips: RoundTrip[];
  profiles: ProfileRun[];
  startup: StartupTrial[];
  /** The attachments scenario group (issue #20), when it ran. */
  attachments?: AttachmentsReport;
  /** The interleaved get / list page 1 comparison (issue 18), when it ran. */
  interleaved?: InterleavedReport;
  notes: string[];
}

export interface Comparison {
  scenario: ScenarioName;
  connections: number;
  lhcms: PointResult;
  baseline?: PointResult;
  /** LHCMS req/s ÷ baseline req/s. */
  rpsRatio?: number;
  /** LHCMS p50 ÷ baseline p50. */
  p50Ratio?: number;
  /** LHCMS server CPU per request ÷ baseline's. */
  cpuRatio?: number;
}

export function compare(points: PointResult[]): Comparison[] {
  const base = new Map(
    points.filter((p) => p.server === 'baseline').map((p) => [`${p.scenario}@${p.connections}`, p]),
  );
  return points
    .filter((p) => p.server === 'lhcms')
    .map((l) => {
      const b = base.get(`${l.scenario}@${l.connections}`);
      const div = (a: number, d: number | undefined) => (d ? a / d : undefined);
      return {
        scenario: l.scenario,
        connections: l.connections,
        lhcms: l,
        baseline: b,
        rpsRatio: b ? div(l.rps, b.rps) : undefined,
        p50Ratio: b ? div(l.latencyMs.p50, b.latencyMs.p50) : undefined,
        cpuRatio: b ? div(l.serverCpuMsPerReq, b.serverCpuMsPerReq) : undefined,
      };
    });
}

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetCheck {
  target: string;
  measured: string;
  verdict: Verdict;
}

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Issue #9's targets, checked against a run (reported, never asserted). */
export function checkTargets(r: Pick<BenchReport, 'points' | 'startup'>): TargetCheck[] {
  const cmp = compare(r.points);
  const out: TargetCheck[] = [];
  const conc = Math.max(0, ...r.points.map((p) => p.connections));
  const at = conc === 64 ? 'concurrency 64' : `concurrency ${conc} (64 not run)`;
  for (const s of ['get', 'list_page1'] as const) {
    const c = cmp.find((x) => x.scenario === s && x.connections === conc);
    if (!c) {
      out.push({
        target: `${s} at ${at}: ≥ 50 % of baseline req/s, p99 ≤ 50 ms, 0 errors`,
        measured: '—',
        verdict: 'not measured',
      });
      continue;
    }
    const ratioOk = c.rpsRatio !== undefined && c.rpsRatio >= 0.5;
    const ok = ratioOk && c.lhcms.latencyMs.p99 <= 50 && c.lhcms.errors === 0;
    out.push({
      target: `${s} at ${at}: ≥ 50 % of baseline req/s, p99 ≤ 50 ms, 0 errors`,
      measured: `${pct(c.rpsRatio)} of baseline (${fmtRps(c.lhcms.rps)} vs ${c.baseline ? fmtRps(c.baseline.rps) : '—'} req/s), p99 ${fmtMs(c.lhcms.latencyMs.p99)} ms, ${c.lhcms.errors} errors`,
      verdict: c.baseline ? (ok ? 'met' : 'missed') : 'not measured',
    });
  }
  const lh = r.points.filter((p) => p.server === 'lhcms');
  const concs = [...new Set(lh.map((p) => p.connections))].sort((a, b) => a - b);
  const parts: string[] = [];
  let allOk = true;
  let any = false;
  for (const n of concs) {
    const p1 = lh.find((p) => p.scenario === 'list_page1' && p.connections === n);
    const cur = lh.find((p) => p.scenario === 'list_cursor_deep' && p.connections === n);
    if (!p1 || !cur) continue;
    any = true;
    const ratio = cur.latencyMs.p50 / p1.latencyMs.p50;
    if (ratio > 1.5) allOk = false;
    parts.push(`c=${n}: ${ratio.toFixed(2)}×`);
  }
  out.push({
    target: 'deep list via cursor: p50 ≤ 1.5 × list page 1 p50',
    measured: any ? parts.join(', ') : '—',
    verdict: any ? (allOk ? 'met' : 'missed') : 'not measured',
  });
  // Issue 16: the work queues stay as fast as today's page 1.
  const queue: string[] = [];
  let queueOk = true;
  for (const n of concs) {
    const p1 = lh.find((p) => p.scenario === 'list_page1' && p.connections === n);
    for (const s of ['queue_due', 'queue_due_cursor'] as const) {
      const q = lh.find((p) => p.scenario === s && p.connections === n);
      if (!p1 || !q) continue;
      const ratio = q.latencyMs.p50 / p1.latencyMs.p50;
      if (ratio > 1.5) queueOk = false;
      queue.push(`${s} c=${n}: ${ratio.toFixed(2)}×`);
    }
  }
  out.push({
    target: 'due-date queue (page 1 and cursor): p50 ≤ 1.5 × list page 1 p50',
    measured: queue.length ? queue.join(', ') : '—',
    verdict: queue.length ? (queueOk ? 'met' : 'missed') : 'not measured',
  });
  if (lh.length) {
    const peak = Math.max(...lh.map((p) => p.rssPeakMB));
    out.push({
      target: 'steady-state server RSS under load ≤ 300 MB',
      measured: `peak ${peak.toFixed(0)} MB over all LHCMS points`,
      verdict: peak <= 300 ? 'met' : 'missed',
    });
  }
  const node = r.startup.filter((s) => s.kind === 'node');
  const npm = r.startup.filter((s) => s.kind === 'npm-start');
  if (node.length || npm.length) {
    const m = median(node.map((s) => s.healthMs));
    const n = median(npm.map((s) => s.healthMs));
    // The issue's target is `npm start`; the image runs `node dist/...` (docker/Dockerfile), so both are shown.
    const target = npm.length ? n : m;
    out.push({
      target: 'start to /health 200 ≤ 3 s (external database)',
      measured: [
        node.length
          ? `node dist/…/main.js: median ${(m / 1000).toFixed(2)} s of ${node.length}`
          : '',
        npm.length
          ? `npm start (prestart build included): median ${(n / 1000).toFixed(2)} s of ${npm.length}`
          : '',
      ]
        .filter(Boolean)
        .join('; '),
      verdict: target <= 3000 ? 'met' : 'missed',
    });
  } else {
    out.push({
      target: 'start to /health 200 ≤ 3 s (external database)',
      measured: '—',
      verdict: 'not measured',
    });
  }
  return out;
}

export function fmtRps(v: number): string {
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function pct(v: number | undefined): string {
  return v === undefined ? '—' : `${(v * 100).toFixed(0)} %`;
}

const SCENARIO_LABEL: Record<ScenarioName, string> = {
  list_page1: 'list page 1 (per_page 50)',
  list_offset_deep: 'list deep, offset page',
  list_cursor_deep: 'list deep, cursor',
  queue_due: 'due-date queue, page 1 (sort=due_date&due_to)',
  queue_due_cursor: 'due-date queue, cursor page',
  get: 'get by id',
  report_on_time: 'report: on-time, one year',
  create: 'create',
  status: 'status change',
  mixed: 'mixed (70 % reads)',
};

export function scenarioLabel(s: ScenarioName, deepOffset?: number): string {
  if (deepOffset !== undefined && s === 'list_offset_deep')
    return `list deep, offset ${deepOffset}`;
  if (deepOffset !== undefined && s === 'list_cursor_deep')
    return `list deep, cursor at ${deepOffset}`;
  return SCENARIO_LABEL[s];
}

/** The results table (one row per LHCMS point, with its baseline next to it). */
export function resultsTable(points: PointResult[], deepOffset?: number): string {
  const rows = compare(points);
  const head =
    '| scenario | conc | LHCMS req/s | baseline req/s | ratio | LHCMS p50 / p99 ms | baseline p50 / p99 ms | errors | payload checked | LHCMS RSS peak MB | server CPU ms/req (LHCMS / baseline) | other load % |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map((c) => {
    const l = c.lhcms;
    const b = c.baseline;
    const errors = b ? `${l.errors} / ${b.errors}` : String(l.errors);
    const flagged = l.errors || b?.errors ? `**${errors} FLAGGED**` : errors;
    const checked = (p?: PointResult) => (p?.checks ? String(p.checks.checked) : '—');
    return [
      scenarioLabel(c.scenario, deepOffset) + (l.interleaved ? ' (interleaved)' : ''),
      String(c.connections),
      fmtRps(l.rps),
      b ? fmtRps(b.rps) : '—',
      pct(c.rpsRatio),
      `${fmtMs(l.latencyMs.p50)} / ${fmtMs(l.latencyMs.p99)}`,
      b ? `${fmtMs(b.latencyMs.p50)} / ${fmtMs(b.latencyMs.p99)}` : '—',
      flagged,
      b ? `${checked(l)} / ${checked(b)}` : checked(l),
      l.rssPeakMB.toFixed(0),
      `${l.serverCpuMsPerReq.toFixed(2)} / ${b ? b.serverCpuMsPerReq.toFixed(2) : '—'}`,
      l.cpu.other !== undefined ? l.cpu.other.toFixed(0) : '—',
    ].join(' | ');
  });
  return [head, ...body.map((r) => `| ${r} |`)].join('\n');
}

function noiseSummary(points: PointResult[], m: MachineInfo): string {
  const others = points.map((p) => p.cpu.other).filter((v): v is number => v !== undefined);
  const loads = points.map((p) => p.loadAvg1AtStart);
  const lines = [
    `- load average at start: ${m.loadAvgAtStart.map((v) => v.toFixed(2)).join(', ')} (1/5/15 min)` +
      (m.backgroundBusyPct !== undefined
        ? `; machine CPU busy before the run: ${m.backgroundBusyPct.toFixed(0)} % of ${m.cores * 100} %`
        : ''),
  ];
  if (loads.length)
    lines.push(
      `- 1-min load average at the start of the points: ${Math.min(...loads).toFixed(2)} – ${Math.max(...loads).toFixed(2)}`,
    );
  if (others.length)
    lines.push(
      `- CPU used by other processes (not the server, the load generator or the bench database's PostgreSQL backends) during the points: median ${median(others).toFixed(0)} %, max ${Math.max(...others).toFixed(0)} % (of ${m.cores * 100} %)`,
    );
  lines.push(
    '- the load generator (autocannon, in the harness process) shares the 2 cores with the server and PostgreSQL; nothing is pinned. Server CPU ms/request is the least noise-sensitive column.',
  );
  return lines.join('\n');
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const deep = typeof r.config.deepOffset === 'number' ? r.config.deepOffset : undefined;
  const out: string[] = [];
  out.push(`# LHCMS benchmark — ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  if (r.label) out.push(`${r.label}\n`);
  out.push(
    `Commit \`${r.git.commit.slice(0, 12)}\` (${r.git.branch}${r.git.dirty ? ', uncommitted changes' : ''}).`,
  );
  out.push('');
  out.push('## Machine and noise');
  out.push('');
  out.push(
    `- ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}; ${m.postgres ?? 'PostgreSQL ?'}; Redis ${m.redis ?? '?'}`,
  );
  out.push(noiseSummary(r.points, m));
  out.push(
    `- database \`${r.database.name}\`: ${r.database.labSizes.join(' / ')} cases in labs ${r.database.labIds.join(' / ')} (scenarios run in the first), seeded ${r.database.reused ? 'earlier (reused)' : `by ${r.database.seedMode} in ${r.database.seedSeconds.toFixed(1)} s`}`,
  );
  out.push(
    `- per point: ${String(r.config.warmup)} s warm-up, ${String(r.config.duration)} s measured; LHCMS in production mode (HIPAA_AUDIT_ENABLED=true, LOG_LEVEL=${String(r.config.logLevel)}), ready in ${(r.lhcms.readyMs / 1000).toFixed(2)} s, idle RSS ${r.lhcms.idleRssMB.toFixed(0)} MB`,
  );
  out.push('');
  if (r.interleaved) {
    out.push(renderInterleaved(r.interleaved, m));
  }
  out.push('## Results');
  out.push('');
  out.push(resultsTable(r.points, deep));
  out.push('');
  out.push(
    'ratio = LHCMS req/s ÷ raw baseline req/s (node:http + pg, same SQL, no framework/auth/audit/transaction). errors = socket errors + timeouts + non-2xx (LHCMS / baseline); a point with errors is FLAGGED. payload checked = sampled 2xx answers compared with the seed (LHCMS: plaintext PHI equal to the generated values; baseline: the right case ids); a wrong one fails the run. (interleaved) rows are the arms of the main comparison above, merged over their slices. other load = machine CPU % used by processes other than the server, the load generator and the bench database backends.',
  );
  out.push('');
  out.push('## Targets (issue #9; reported, not asserted)');
  out.push('');
  out.push('| target | measured | verdict |\n|---|---|---|');
  for (const t of checkTargets(r)) out.push(`| ${t.target} | ${t.measured} | ${t.verdict} |`);
  out.push('');
  if (r.attachments) {
    out.push(renderAttachments(r.attachments));
  }
  if (r.roundTrips.length) {
    out.push('## Round trips per request');
    out.push('');
    out.push(
      '| server | scenario | PostgreSQL round trips | statements | Redis commands | statements of one request |\n|---|---|---:|---:|---:|---|',
    );
    for (const t of r.roundTrips) {
      const redis = Object.entries(t.redisByCommand)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ');
      out.push(
        `| ${t.server} | ${scenarioLabel(t.scenario, deep)} | ${t.pgRoundTrips.toFixed(1)} | ${t.pgStatements.toFixed(1)} | ${t.redisCommands.toFixed(1)}${redis ? ` (${redis})` : ''} | ${t.statements.map((s) => `\`${s.replace(/\|/g, '\\|')}\``).join('<br>')} |`,
      );
    }
    out.push('');
  }
  for (const p of r.profiles) {
    const s = p.summary;
    out.push(`## CPU profile: ${scenarioLabel(p.scenario, deep)} at concurrency ${p.connections}`);
    out.push('');
    out.push(
      `${p.seconds.toFixed(0)} s, ${p.requests} requests (${fmtRps(p.rps)} req/s under the profiler), ${s.busyMs.toFixed(0)} ms of sampled busy CPU = ${s.busyUsPerRequest?.toFixed(0) ?? '?'} µs per request. File: \`${p.file}\` (open in Chrome DevTools → Performance, or speedscope).`,
    );
    out.push('');
    out.push('| layer (self time) | % of busy | µs/request |\n|---|---:|---:|');
    for (const l of s.layers)
      out.push(`| ${l.layer} | ${l.pct.toFixed(1)} | ${l.usPerRequest?.toFixed(0) ?? '—'} |`);
    out.push('');
    out.push('| hot-path function (inclusive) | % of busy | µs/request |\n|---|---:|---:|');
    for (const x of s.probes)
      out.push(`| ${x.probe} | ${x.pct.toFixed(1)} | ${x.usPerRequest?.toFixed(0) ?? '—'} |`);
    out.push('');
    out.push('<details><summary>top functions by self time</summary>\n');
    out.push('| function | where | % of busy |\n|---|---|---:|');
    for (const f of s.topFunctions.slice(0, 20))
      out.push(`| ${f.fn} | ${f.where} | ${f.pct.toFixed(1)} |`);
    out.push('\n</details>\n');
  }
  if (r.startup.length) {
    out.push('## Start to /health 200 (production mode, external database)');
    out.push('');
    out.push('| command | ms |\n|---|---:|');
    for (const t of r.startup) out.push(`| \`${t.command}\` | ${t.healthMs.toFixed(0)} |`);
    out.push('');
  }
  const failed = r.points.filter((p) => p.errors > 0);
  if (failed.length) {
    out.push(
      `Errors by kind: ${failed
        .map((p) => {
          const e = p.errorDetail;
          const codes = Object.entries(e.byStatus)
            .filter(([c]) => !c.startsWith('2'))
            .map(([c, n]) => `${n}× ${c}`);
          const kinds = [
            ...codes,
            e.timeouts ? `${e.timeouts} timeouts` : '',
            e.socket ? `${e.socket} socket errors` : '',
          ].filter(Boolean);
          return `${p.server} ${p.scenario} c=${p.connections}: ${kinds.join(', ')}`;
        })
        .join('; ')}.`,
    );
    out.push('');
  }
  const waited = r.points.filter((p) => p.settleMs > 1000);
  if (waited.length) {
    out.push(
      `Backlog drained before: ${waited.map((p) => `${p.server} ${p.scenario} c=${p.connections} (${(p.settleMs / 1000).toFixed(1)} s)`).join(', ')} — the previous point left queued work (requests that timed out on the client stay queued in the server and PostgreSQL).`,
    );
    out.push('');
  }
  if (r.notes.length) {
    out.push('## Notes');
    out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** The interleaved main comparison: per scenario and concurrency, both arms, the ratio, the verdicts. */
export function renderInterleaved(iv: InterleavedReport, m: MachineInfo): string {
  const out: string[] = [];
  out.push('## Main comparison: get and list page 1, interleaved (issue 18)');
  out.push('');
  out.push(
    `LHCMS and the raw baseline both running for the whole comparison; the load switches between them in ${iv.sliceSeconds} s slices, ${iv.rounds} rounds per scenario and concurrency, order alternating (baseline/LHCMS, LHCMS/baseline, …), after a ${iv.warmup} s warm-up of each. req/s = an arm's requests ÷ its time over all its slices; p50/p99 over every latency of its slices. Payload check: ${iv.checkEvery === 1 ? 'every 2xx answer' : `one 2xx answer in ${iv.checkEvery}`}.`,
  );
  out.push('');
  out.push(
    `${iv.startedAt.slice(0, 16).replace('T', ' ')} – ${iv.finishedAt.slice(11, 16)} UTC on ${m.hostname} (${m.cores} cores, ${m.cpuModel}); load average ${iv.loadAvg.start.map((v) => v.toFixed(2)).join(' / ')} at the start, ${iv.loadAvg.end.map((v) => v.toFixed(2)).join(' / ')} at the end (1/5/15 min).`,
  );
  out.push('');
  out.push(
    '| scenario | conc | LHCMS req/s | baseline req/s | ratio | LHCMS p50 / p99 ms | baseline p50 / p99 ms | LHCMS p99 ÷ p50 | errors (LHCMS / baseline) | payload checked (LHCMS / baseline) | other load % (LHCMS / baseline slices) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const x of iv.results) {
    const l = x.lhcms;
    const b = x.baseline;
    const errors = `${l.errors} / ${b.errors}`;
    out.push(
      `| ${scenarioLabel(x.scenario)} | ${x.connections} | ${fmtRps(l.rps)} | ${fmtRps(b.rps)} | ${pct(x.ratio)} | ${fmtMs(l.latencyMs.p50)} / ${fmtMs(l.latencyMs.p99)} | ${fmtMs(b.latencyMs.p50)} / ${fmtMs(b.latencyMs.p99)} | ${x.lhcmsTail.toFixed(1)} | ${l.errors || b.errors ? `**${errors} FLAGGED**` : errors} | ${l.checks?.checked ?? 0} / ${b.checks?.checked ?? 0} | ${l.cpu.other?.toFixed(0) ?? '—'} / ${b.cpu.other?.toFixed(0) ?? '—'} |`,
    );
  }
  out.push('');
  out.push('| target (issue 18) | measured | verdict |\n|---|---|---|');
  for (const t of interleavedTargets(iv.results))
    out.push(`| ${t.target} | ${t.measured} | ${t.verdict} |`);
  out.push('');
  if (iv.audit)
    out.push(
      `Audit completeness (rows written during the comparison, warm-ups included): ${iv.audit.ok ? 'ok' : '**FAILED**'} — ${iv.audit.detail}.`,
    );
  out.push('');
  out.push('<details><summary>req/s of every slice</summary>\n');
  out.push(
    '| scenario | conc | round | arm | req/s | errors | load avg 1 min |\n|---|---:|---:|---|---:|---:|---:|',
  );
  for (const x of iv.results)
    for (const s of x.slices)
      out.push(
        `| ${x.scenario} | ${x.connections} | ${s.round + 1} | ${s.server} | ${fmtRps(s.rps)} | ${s.errors} | ${s.load1.toFixed(2)} |`,
      );
  out.push('\n</details>\n');
  return out.join('\n');
}

// ---- attachments (issue #20) ------------------------------------------------------------

export type TransferOp = 'upload' | 'download';
export type TransferWorkload = 'large' | 'small';

/** One timed transfer: one file (large) or all the small files at the scenario's concurrency. */
export interface TransferRun {
  server: 'lhcms' | 'baseline';
  op: TransferOp;
  workload: TransferWorkload;
  /** Which interleaved pair it belongs to (0-based). */
  pair: number;
  files: number;
  concurrency: number;
  bytes: number;
  seconds: number;
  /** MiB per second (2^20 bytes). */
  mbps: number;
  /** CPU time of the server process per MiB moved (the figure least moved by other load). */
  serverCpuMsPerMB?: number;
  /** LHCMS large transfers: the server's RSS just before, its peak sampled every ~100 ms, and the difference (MiB). */
  rssBeforeMB?: number;
  rssPeakMB?: number;
  rssGrowthMB?: number;
  rssSamples?: number;
}

/** get or list page 1 on LHCMS without and with the background upload loop, at one concurrency. */
export interface BackgroundPair {
  scenario: ScenarioName;
  connections: number;
  without: PointResult;
  with: PointResult;
  /** What the background loop did during the `with` point (warm-up included). */
  uploads: number;
  uploadFailures: number;
  uploadMBps: number;
}

export interface AttachmentCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface AttachmentsReport {
  store: 'filesystem';
  largeBytes: number;
  smallBytes: number;
  smallCount: number;
  concurrency: number;
  backgroundConcurrency: number;
  backgroundBytes: number;
  transfers: TransferRun[];
  background: BackgroundPair[];
  checks: AttachmentCheck[];
  /** Set when the scenario stopped early (the checks say why). */
  error?: string;
}

export type AttachmentVerdict = 'met' | 'NOT met' | 'not measured';

export interface AttachmentTarget {
  target: string;
  measured: string;
  verdict: AttachmentVerdict;
}

/** The thresholds of issue #20 (and the noise band "unchanged" is read with). */
export const ATTACHMENT_TARGETS = {
  minThroughputRatio: 0.5,
  maxRssGrowthMB: 64,
  /** get/list req/s with uploads running ≥ this × without: "unchanged" within this machine's noise. */
  minBackgroundRpsRatio: 0.9,
} as const;

export interface ThroughputRow {
  workload: TransferWorkload;
  op: TransferOp;
  lhcmsMBps: number;
  baselineMBps: number;
  /** Median server CPU ms per MiB (undefined when not read). */
  lhcmsCpuMsPerMB?: number;
  baselineCpuMsPerMB?: number;
  /** median LHCMS MB/s ÷ median baseline MB/s. */
  ratio: number;
  runs: { lhcms: number; baseline: number };
}

/** Median MB/s per (workload, op, server) over the pairs, and the ratio. */
export function throughputRows(transfers: TransferRun[]): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const workload of ['large', 'small'] as const)
    for (const op of ['upload', 'download'] as const) {
      const of = (server: 'lhcms' | 'baseline') =>
        transfers
          .filter((t) => t.workload === workload && t.op === op && t.server === server)
          .map((t) => t.mbps);
      const l = of('lhcms');
      const b = of('baseline');
      if (!l.length || !b.length) continue;
      const cpu = (server: 'lhcms' | 'baseline') => {
        const v = transfers
          .filter((t) => t.workload === workload && t.op === op && t.server === server)
          .map((t) => t.serverCpuMsPerMB)
          .filter((x): x is number => x !== undefined);
        return v.length ? median(v) : undefined;
      };
      const lm = median(l);
      const bm = median(b);
      rows.push({
        workload,
        op,
        lhcmsMBps: lm,
        baselineMBps: bm,
        ratio: bm > 0 ? lm / bm : NaN,
        lhcmsCpuMsPerMB: cpu('lhcms'),
        baselineCpuMsPerMB: cpu('baseline'),
        runs: { lhcms: l.length, baseline: b.length },
      });
    }
  return rows;
}

export function fmtMBps(v: number): string {
  return !Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function fmtCpu(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(1);
}

export function fmtSize(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return mib >= 10
    ? `${mib.toFixed(0)} MB`
    : mib >= 1
      ? `${mib.toFixed(1)} MB`
      : `${(bytes / 1024).toFixed(0)} KB`;
}

/** Issue #20's three targets, from the raw numbers (reported, never asserted). */
export function attachmentTargets(a: AttachmentsReport): AttachmentTarget[] {
  const T = ATTACHMENT_TARGETS;
  const failed = a.checks.filter((c) => !c.ok);
  const spoiled = failed.length > 0 || a.error !== undefined;
  const out: AttachmentTarget[] = [];

  const rows = throughputRows(a.transfers);
  const tpTarget = `upload and download throughput ≥ ${T.minThroughputRatio * 100} % of the raw baseline (filesystem store)`;
  out.push(
    rows.length && !spoiled
      ? {
          target: tpTarget,
          measured: rows
            .map(
              (r) =>
                `${r.workload === 'large' ? fmtSize(a.largeBytes) : `${a.smallCount} × ${fmtSize(a.smallBytes)}`} ${r.op}: ${pct(r.ratio)} (${fmtMBps(r.lhcmsMBps)} vs ${fmtMBps(r.baselineMBps)} MB/s)`,
            )
            .join('; '),
          // One row below the target is a miss; all four at or above it is met; fewer rows, not measured.
          verdict: rows.some((r) => !(r.ratio >= T.minThroughputRatio))
            ? 'NOT met'
            : rows.length === 4
              ? 'met'
              : 'not measured',
        }
      : { target: tpTarget, measured: '—', verdict: 'not measured' },
  );

  const rss = a.transfers.filter(
    (t) => t.server === 'lhcms' && t.workload === 'large' && t.rssGrowthMB !== undefined,
  );
  const rssTarget = `server RSS growth (peak − before) < ${T.maxRssGrowthMB} MB during a ${fmtSize(a.largeBytes)} upload or download`;
  if (rss.length && !spoiled) {
    const worst = (op: TransferOp) => {
      const g = rss.filter((t) => t.op === op).map((t) => t.rssGrowthMB!);
      return g.length ? Math.max(...g) : undefined;
    };
    const up = worst('upload');
    const down = worst('download');
    const all = [up, down].filter((v): v is number => v !== undefined);
    out.push({
      target: rssTarget,
      measured: `upload ${up === undefined ? '—' : `${up.toFixed(1)} MB`}, download ${down === undefined ? '—' : `${down.toFixed(1)} MB`} (worst of ${rss.length} transfers, sampled every 100 ms)`,
      verdict:
        up === undefined || down === undefined
          ? 'not measured'
          : Math.max(...all) < T.maxRssGrowthMB
            ? 'met'
            : 'NOT met',
    });
  } else out.push({ target: rssTarget, measured: '—', verdict: 'not measured' });

  const bgTarget = `get and list page 1 unchanged while uploads run at concurrency ${a.backgroundConcurrency} (req/s with ≥ ${T.minBackgroundRpsRatio * 100} % of without)`;
  const usable = a.background.filter((b) => b.without.errors === 0 && b.with.errors === 0);
  if (a.background.length && !spoiled) {
    const parts = a.background.map(
      (b) =>
        `${b.scenario} c=${b.connections}: ${pct(backgroundRatio(b))}` +
        (b.with.errors || b.without.errors
          ? ` (errors ${b.without.errors} / ${b.with.errors})`
          : ''),
    );
    const ok =
      usable.length === a.background.length &&
      a.background.every((b) => backgroundRatio(b) >= T.minBackgroundRpsRatio && b.uploads > 0);
    out.push({ target: bgTarget, measured: parts.join(', '), verdict: ok ? 'met' : 'NOT met' });
  } else out.push({ target: bgTarget, measured: '—', verdict: 'not measured' });
  return out;
}

/** req/s with the uploads running ÷ req/s without. */
export function backgroundRatio(b: BackgroundPair): number {
  return b.without.rps > 0 ? b.with.rps / b.without.rps : NaN;
}

/** The attachments section of the markdown report. */
export function renderAttachments(a: AttachmentsReport): string {
  const out: string[] = [];
  out.push('## Attachments (issue #20)');
  out.push('');
  out.push(
    `LHCMS (production mode, filesystem store, encrypted at rest) against a raw baseline (node:http piping the same bytes to a file on the same disk with stream.pipeline, fsync, createReadStream back; no encryption, no multipart, no framework), pairs interleaved (baseline first in even pairs, LHCMS first in odd ones). Payloads: generated binary STL files, streamed; large = 1 × ${fmtSize(a.largeBytes)}, small = ${a.smallCount} × ${fmtSize(a.smallBytes)} at concurrency ${a.concurrency}. MB = 2^20 bytes; the client hashes every download on both sides.`,
  );
  out.push('');
  const failed = a.checks.filter((c) => !c.ok);
  if (a.error || failed.length) {
    out.push(
      `**Scenario FAILED**: ${[a.error, ...failed.map((c) => `${c.name}: ${c.detail}`)].filter(Boolean).join('; ')}`,
    );
    out.push('');
  }
  out.push('| target | measured | verdict |\n|---|---|---|');
  for (const t of attachmentTargets(a)) out.push(`| ${t.target} | ${t.measured} | ${t.verdict} |`);
  out.push('');
  const rows = throughputRows(a.transfers);
  if (rows.length) {
    out.push(
      '| workload | op | LHCMS MB/s | baseline MB/s | ratio | runs (LHCMS / baseline) | server CPU ms/MB (LHCMS / baseline) |\n|---|---|---:|---:|---:|---:|---:|',
    );
    for (const r of rows)
      out.push(
        `| ${r.workload === 'large' ? `1 × ${fmtSize(a.largeBytes)}` : `${a.smallCount} × ${fmtSize(a.smallBytes)}, c=${a.concurrency}`} | ${r.op} | ${fmtMBps(r.lhcmsMBps)} | ${fmtMBps(r.baselineMBps)} | ${pct(r.ratio)} | ${r.runs.lhcms} / ${r.runs.baseline} | ${fmtCpu(r.lhcmsCpuMsPerMB)} / ${fmtCpu(r.baselineCpuMsPerMB)} |`,
      );
    out.push('');
    out.push(
      "MB/s and CPU are medians over the pairs. Server CPU ms/MB (the server process's CPU time per MiB moved) is the figure least moved by the other load on a shared machine; every run:",
    );
    out.push('');
    out.push(
      '| pair | server | workload | op | s | MB/s | server CPU ms/MB | RSS before → peak (growth) MB |\n|---:|---|---|---|---:|---:|---:|---:|',
    );
    for (const t of a.transfers)
      out.push(
        `| ${t.pair} | ${t.server} | ${t.workload} | ${t.op} | ${t.seconds.toFixed(2)} | ${fmtMBps(t.mbps)} | ${fmtCpu(t.serverCpuMsPerMB)} | ${t.rssGrowthMB !== undefined ? `${t.rssBeforeMB!.toFixed(0)} → ${t.rssPeakMB!.toFixed(0)} (${t.rssGrowthMB.toFixed(1)})` : '—'} |`,
      );
    out.push('');
  }
  if (a.background.length) {
    out.push(
      `get / list page 1 on LHCMS without and with ${a.backgroundConcurrency} uploads of ${fmtSize(a.backgroundBytes)} running back to back (a worker thread of the harness), interleaved:`,
    );
    out.push('');
    out.push(
      '| scenario | conc | req/s without / with | ratio | p50 ms without / with | p99 ms without / with | errors | uploads during (MB/s) | other load % |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const b of a.background)
      out.push(
        `| ${scenarioLabel(b.scenario)} | ${b.connections} | ${fmtRps(b.without.rps)} / ${fmtRps(b.with.rps)} | ${pct(backgroundRatio(b))} | ${fmtMs(b.without.latencyMs.p50)} / ${fmtMs(b.with.latencyMs.p50)} | ${fmtMs(b.without.latencyMs.p99)} / ${fmtMs(b.with.latencyMs.p99)} | ${b.without.errors} / ${b.with.errors} | ${b.uploads}${b.uploadFailures ? ` (+${b.uploadFailures} failed)` : ''} (${fmtMBps(b.uploadMBps)}) | ${b.without.cpu.other?.toFixed(0) ?? '—'} / ${b.with.cpu.other?.toFixed(0) ?? '—'} |`,
      );
    out.push('');
  }
  if (a.checks.length) {
    out.push('Checks that the real path was measured:');
    out.push('');
    for (const c of a.checks) out.push(`- ${c.ok ? 'ok' : '**FAILED**'}: ${c.name} — ${c.detail}`);
    out.push('');
  }
  return out.join('\n');
}
