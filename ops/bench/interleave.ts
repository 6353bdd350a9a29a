/**
 * The interleaved main comparison (issue 18): LHCMS and the raw baseline run
 * for the whole comparison and the load switches between them in slices
 * (A/B, B/A, …), so the slow phases of a shared machine fall on both arms
 * (the method of `npm run bench:audit`). Each arm's figures are merged over
 * its slices: req/s = all its requests ÷ all its time; latency percentiles
 * over every latency of every slice. The scheduling, merging and verdicts are
 * pure (interleave.spec.ts).
 */
import type { Client as PgClient } from 'pg';
import type { ScenarioName } from './config';
import {
  measurePoint,
  percentile,
  type PointResult,
  type ServerKind,
  settle,
  warmUp,
} from './load';
import { mergeChecks, type PayloadSampler } from './payload';
import type { AuditCheck, TargetCheck } from './report';
import type { ScenarioContext } from './scenarios';

/** The two arms in the order they run in each round: round 0 `first` then the other, round 1 reversed, … */
export function sliceOrder(rounds: number, first: ServerKind = 'baseline'): ServerKind[][] {
  const other: ServerKind = first === 'baseline' ? 'lhcms' : 'baseline';
  return Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? [first, other] : [other, first]));
}

/** All the latencies of the slices, sorted (exact percentiles of the merged arm). */
export function mergeSorted(xs: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(xs.reduce((a, x) => a + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out.sort();
}

const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

/** Time-weighted mean of an optional figure (undefined when a slice lacks it). */
function weighted(
  xs: readonly PointResult[],
  f: (p: PointResult) => number | undefined,
): number | undefined {
  let t = 0;
  let v = 0;
  for (const p of xs) {
    const x = f(p);
    if (x === undefined) return undefined;
    v += x * p.seconds;
    t += p.seconds;
  }
  return t ? v / t : undefined;
}

/**
 * One arm's slices as one point: requests and time summed (req/s = their
 * ratio), latencies merged, errors and payload checks added, CPU shares
 * time-weighted, server CPU per request = its CPU time ÷ its requests.
 */
export function mergeSlices(
  slices: readonly PointResult[],
  latencies: readonly Float64Array[],
  meta: { sliceSeconds: number; rounds: number },
): PointResult {
  if (slices.length === 0) throw new Error('mergeSlices: no slice');
  const sorted = mergeSorted(latencies);
  const requests = sum(slices, (p) => p.requests);
  const seconds = sum(slices, (p) => p.seconds);
  const byStatus: Record<string, number> = {};
  for (const p of slices)
    for (const [k, v] of Object.entries(p.errorDetail.byStatus))
      byStatus[k] = (byStatus[k] ?? 0) + v;
  const machine = weighted(slices, (p) => p.cpu.machine);
  const postgres = weighted(slices, (p) => p.cpu.postgres);
  const other = weighted(slices, (p) => p.cpu.other);
  const checked = slices.some((p) => p.checks);
  return {
    scenario: slices[0].scenario,
    server: slices[0].server,
    connections: slices[0].connections,
    seconds,
    requests,
    rps: seconds ? requests / seconds : 0,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1] : 0,
      mean: sorted.length ? sorted.reduce((a, x) => a + x, 0) / sorted.length : 0,
    },
    errors: sum(slices, (p) => p.errors),
    errorDetail: {
      socket: sum(slices, (p) => p.errorDetail.socket),
      timeouts: sum(slices, (p) => p.errorDetail.timeouts),
      non2xx: sum(slices, (p) => p.errorDetail.non2xx),
      byStatus,
    },
    rssPeakMB: Math.max(...slices.map((p) => p.rssPeakMB)),
    rssMeanMB: weighted(slices, (p) => p.rssMeanMB) ?? 0,
    serverCpuMsPerReq: requests
      ? sum(slices, (p) => p.serverCpuMsPerReq * p.requests) / requests
      : 0,
    cpu: {
      machine,
      server: weighted(slices, (p) => p.cpu.server) ?? 0,
      harness: weighted(slices, (p) => p.cpu.harness) ?? 0,
      postgres,
      other,
    },
    loadAvg1AtStart: slices[0].loadAvg1AtStart,
    settleMs: sum(slices, (p) => p.settleMs),
    checks: checked ? mergeChecks(slices.map((p) => p.checks)) : undefined,
    sent: sum(slices, (p) => p.sent ?? 0),
    ok2xx: sum(slices, (p) => p.ok2xx ?? 0),
    interleaved: { slices: slices.length, sliceSeconds: meta.sliceSeconds, rounds: meta.rounds },
  };
}

/** One scenario at one concurrency, both arms merged. */
export interface InterleavedResult {
  scenario: ScenarioName;
  connections: number;
  lhcms: PointResult;
  baseline: PointResult;
  /** LHCMS req/s ÷ baseline req/s. */
  ratio: number;
  /** LHCMS p99 ÷ its p50. */
  lhcmsTail: number;
  /** Per slice, in the order they ran: arm, req/s, 1-min load average at its start. */
  slices: Array<{ round: number; server: ServerKind; rps: number; errors: number; load1: number }>;
}

/** Issue 18's thresholds. */
export const INTERLEAVED_TARGETS = {
  minRatio: 0.5,
  maxListTail: 3,
  concurrencies: [16, 64],
  scenarios: ['get', 'list_page1'] as const,
} as const;

/** A point's errors and payload failures, in words ('' when clean). */
export function flaws(p: PointResult | undefined): string {
  if (!p) return '';
  const out: string[] = [];
  if (p.errors) out.push(`${p.errors} errors`);
  if (p.checks?.failed) out.push(`${p.checks.failed} wrong payloads`);
  return out.join(', ');
}

/**
 * Issue 18's verdicts from the interleaved results: ≥ 50 % of the baseline's
 * req/s for get and list page 1 at c=16 and c=64, and list page 1 p99 ≤ 3 ×
 * its p50. A point with errors or wrong payloads is never "met".
 */
export function interleavedTargets(rs: readonly InterleavedResult[]): TargetCheck[] {
  const T = INTERLEAVED_TARGETS;
  const out: TargetCheck[] = [];
  for (const s of T.scenarios)
    for (const c of T.concurrencies) {
      const r = rs.find((x) => x.scenario === s && x.connections === c);
      const target = `${s} at c=${c} (interleaved): LHCMS ≥ ${T.minRatio * 100} % of the raw baseline's req/s`;
      if (!r) {
        out.push({ target, measured: '—', verdict: 'not measured' });
        continue;
      }
      const bad = [flaws(r.lhcms), flaws(r.baseline)].filter(Boolean);
      out.push({
        target,
        measured:
          `${(r.ratio * 100).toFixed(0)} % (${r.lhcms.rps.toFixed(0)} vs ${r.baseline.rps.toFixed(0)} req/s)` +
          (bad.length ? `; FLAGGED: ${bad.join('; ')}` : ''),
        verdict: bad.length === 0 && r.ratio >= T.minRatio ? 'met' : 'missed',
      });
    }
  const lists = rs.filter((x) => x.scenario === 'list_page1');
  const tailTarget = `list page 1 (interleaved): LHCMS p99 ≤ ${T.maxListTail} × its p50`;
  if (lists.length === 0) out.push({ target: tailTarget, measured: '—', verdict: 'not measured' });
  else
    out.push({
      target: tailTarget,
      measured: lists
        .map(
          (r) =>
            `c=${r.connections}: ${r.lhcmsTail.toFixed(1)}× (p50 ${r.lhcms.latencyMs.p50.toFixed(0)} / p99 ${r.lhcms.latencyMs.p99.toFixed(0)} ms)`,
        )
        .join(', '),
      verdict: lists.every((r) => r.lhcmsTail <= T.maxListTail && !flaws(r.lhcms))
        ? 'met'
        : 'missed',
    });
  return out;
}

export interface ArmServer {
  url: string;
  pid: number;
}

/** LHCMS requests of a comparison (warm-ups included): what the audit trail must account for. */
export interface ArmCounts {
  sent: number;
  ok2xx: number;
}

/**
 * Runs one scenario at one concurrency: a warm-up per server, then `rounds`
 * rounds of one slice per arm, order alternating; each slice waits for both
 * servers and the bench database to be idle first.
 */
export async function runInterleaved(o: {
  servers: Record<ServerKind, ArmServer>;
  scenario: ScenarioName;
  connections: number;
  sliceSeconds: number;
  rounds: number;
  warmup: number;
  ctx: (arm: ServerKind) => ScenarioContext;
  sampler: (arm: ServerKind) => PayloadSampler | undefined;
  admin: PgClient;
  dbName: string;
  timeoutSeconds: number;
  log: (line: string) => void;
}): Promise<{ result: InterleavedResult; lhcmsCounts: ArmCounts }> {
  const counts: ArmCounts = { sent: 0, ok2xx: 0 };
  const order = sliceOrder(o.rounds);
  for (const arm of order[0]) {
    if (o.warmup <= 0) continue;
    const w = await warmUp({
      url: o.servers[arm].url,
      scenario: o.scenario,
      connections: o.connections,
      seconds: o.warmup,
      ctx: o.ctx(arm),
      timeoutSeconds: o.timeoutSeconds,
    });
    if (arm === 'lhcms') {
      counts.sent += w.sent;
      counts.ok2xx += w.ok2xx;
    }
  }
  const arms: Record<ServerKind, { points: PointResult[]; lat: Float64Array[] }> = {
    lhcms: { points: [], lat: [] },
    baseline: { points: [], lat: [] },
  };
  const slices: InterleavedResult['slices'] = [];
  for (let round = 0; round < order.length; round++) {
    const line: string[] = [];
    for (const arm of order[round]) {
      // The other server first finishes what the previous slice left in flight (autocannon stops
      // with a request on every connection), so its tail does not run into this slice.
      const other: ServerKind = arm === 'lhcms' ? 'baseline' : 'lhcms';
      const drained = await settle(o.admin, o.dbName, o.servers[other].pid, 0);
      const { point, sorted } = await measurePoint({
        url: o.servers[arm].url,
        server: arm,
        serverPid: o.servers[arm].pid,
        scenario: o.scenario,
        connections: o.connections,
        duration: o.sliceSeconds,
        warmup: 0,
        ctx: o.ctx(arm),
        admin: o.admin,
        dbName: o.dbName,
        timeoutSeconds: o.timeoutSeconds,
        // Both pools stay open for the whole comparison (sized to fit together): wait for idleness only.
        settleRoom: 0,
        sampler: o.sampler(arm),
      });
      point.settleMs += drained;
      arms[arm].points.push(point);
      arms[arm].lat.push(sorted);
      if (arm === 'lhcms') {
        counts.sent += point.sent ?? 0;
        counts.ok2xx += point.ok2xx ?? 0;
      }
      slices.push({
        round,
        server: arm,
        rps: point.rps,
        errors: point.errors,
        load1: point.loadAvg1AtStart,
      });
      line.push(
        `${arm} ${point.rps.toFixed(0)} req/s p50 ${point.latencyMs.p50.toFixed(1)} p99 ${point.latencyMs.p99.toFixed(1)} ms${point.errors ? ` ${point.errors} ERRORS` : ''}`,
      );
    }
    o.log(
      `  ${o.scenario} c=${o.connections} round ${round + 1}/${order.length}: ${line.join(' | ')}`,
    );
  }
  const meta = { sliceSeconds: o.sliceSeconds, rounds: o.rounds };
  const lhcms = mergeSlices(arms.lhcms.points, arms.lhcms.lat, meta);
  const baseline = mergeSlices(arms.baseline.points, arms.baseline.lat, meta);
  return {
    result: {
      scenario: o.scenario,
      connections: o.connections,
      lhcms,
      baseline,
      ratio: baseline.rps ? lhcms.rps / baseline.rps : NaN,
      lhcmsTail: lhcms.latencyMs.p50 ? lhcms.latencyMs.p99 / lhcms.latencyMs.p50 : NaN,
      slices,
    },
    lhcmsCounts: counts,
  };
}

/**
 * The audit rows of the comparison against LHCMS's requests, per interaction
 * (`read` for get, `search` for lists): at least one per 2xx answer, at most
 * one per request sent (the ones in flight when a slice stopped).
 */
export function auditVerdict(
  rows: Record<string, number>,
  counts: Record<string, ArmCounts>,
): AuditCheck {
  const parts: string[] = [];
  let ok = true;
  for (const [interaction, c] of Object.entries(counts)) {
    const n = rows[interaction] ?? 0;
    const inFlight = c.sent - c.ok2xx;
    if (n < c.ok2xx || n > c.sent) ok = false;
    parts.push(
      `${interaction}: ${n} rows for ${c.ok2xx} successful requests${inFlight > 0 ? ` (+ up to ${inFlight} sent but not answered or not 2xx${n === c.sent ? ': one row for every request sent' : ''})` : ''}`,
    );
  }
  for (const k of Object.keys(rows))
    if (!(k in counts) && rows[k] > 0) {
      ok = false;
      parts.push(`${k}: ${rows[k]} rows for no request`);
    }
  return { ok, rows, counts, detail: parts.join('; ') };
}
