import {
  auditVerdict,
  type InterleavedResult,
  interleavedTargets,
  mergeSlices,
  mergeSorted,
  sliceOrder,
} from './interleave';
import type { PointResult } from './load';

function slice(
  over: Partial<PointResult> & Pick<PointResult, 'requests' | 'seconds'>,
): PointResult {
  return {
    scenario: 'get',
    server: 'lhcms',
    connections: 16,
    rps: over.requests / over.seconds,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    errors: 0,
    errorDetail: { socket: 0, timeouts: 0, non2xx: 0, byStatus: { '200': over.requests } },
    rssPeakMB: 200,
    rssMeanMB: 180,
    serverCpuMsPerReq: 1,
    cpu: { machine: 180, server: 90, harness: 40, postgres: 40, other: 10 },
    loadAvg1AtStart: 1,
    settleMs: 0,
    ...over,
  };
}

const lat = (...xs: number[]) => Float64Array.from(xs).sort();

describe('bench interleaved comparison', () => {
  it('alternates the order every round: A/B, B/A, …', () => {
    expect(sliceOrder(4)).toEqual([
      ['baseline', 'lhcms'],
      ['lhcms', 'baseline'],
      ['baseline', 'lhcms'],
      ['lhcms', 'baseline'],
    ]);
    expect(sliceOrder(1, 'lhcms')).toEqual([['lhcms', 'baseline']]);
  });

  it('merges slices: req/s = all requests ÷ all time, percentiles over every latency', () => {
    const a = slice({ requests: 100, seconds: 1, serverCpuMsPerReq: 1, errors: 1 });
    const b = slice({
      requests: 300,
      seconds: 3,
      serverCpuMsPerReq: 3,
      checks: { checked: 4, failed: 0, problems: [] },
      errorDetail: { socket: 0, timeouts: 0, non2xx: 2, byStatus: { '200': 298, '503': 2 } },
    });
    const m = mergeSlices([a, b], [lat(1, 2, 3), lat(4, 5, 6, 7, 8, 9, 10)], {
      sliceSeconds: 2,
      rounds: 2,
    });
    expect(m.rps).toBe(100);
    expect(m.requests).toBe(400);
    // (100 × 1 + 300 × 3) / 400: CPU time over requests, not a mean of slice means.
    expect(m.serverCpuMsPerReq).toBe(2.5);
    expect(m.latencyMs.p50).toBe(5);
    expect(m.latencyMs.p99).toBe(10);
    expect(m.latencyMs.max).toBe(10);
    expect(m.errors).toBe(1);
    expect(m.errorDetail.byStatus).toEqual({ '200': 398, '503': 2 });
    expect(m.checks).toEqual({ checked: 4, failed: 0, problems: [] });
    expect(m.interleaved).toEqual({ slices: 2, sliceSeconds: 2, rounds: 2 });
    expect([...mergeSorted([lat(3, 1), lat(2)])]).toEqual([1, 2, 3]);
  });

  const result = (
    scenario: 'get' | 'list_page1',
    connections: number,
    lhcmsRps: number,
    baseRps: number,
    over: Partial<PointResult> = {},
  ): InterleavedResult => {
    const lhcms = slice({
      scenario,
      connections,
      requests: lhcmsRps,
      seconds: 1,
      latencyMs: { p50: 10, p90: 20, p99: 25, max: 30, mean: 12 },
      ...over,
    });
    const baseline = slice({
      scenario,
      connections,
      server: 'baseline',
      requests: baseRps,
      seconds: 1,
    });
    return {
      scenario,
      connections,
      lhcms,
      baseline,
      ratio: lhcms.rps / baseline.rps,
      lhcmsTail: lhcms.latencyMs.p99 / lhcms.latencyMs.p50,
      slices: [],
    };
  };

  it("gives issue 18's verdicts: ≥ 50 % at c=16 and c=64, list p99 ≤ 3 × p50", () => {
    const v = interleavedTargets([
      result('get', 16, 600, 1000),
      result('get', 64, 400, 1000),
      result('list_page1', 16, 500, 1000),
      result('list_page1', 64, 500, 1000, {
        latencyMs: { p50: 10, p90: 20, p99: 31, max: 40, mean: 12 },
      }),
    ]);
    expect(v.map((t) => t.verdict)).toEqual(['met', 'missed', 'met', 'met', 'missed']);
    expect(v[4].measured).toContain('c=64: 3.1×');
    expect(interleavedTargets([]).every((t) => t.verdict === 'not measured')).toBe(true);
  });

  it('never calls a point with errors or wrong payloads met', () => {
    const v = interleavedTargets([
      result('get', 16, 900, 1000, { errors: 3 }),
      result('get', 64, 900, 1000, { checks: { checked: 5, failed: 1, problems: ['x'] } }),
    ]);
    expect(v[0]).toMatchObject({ verdict: 'missed' });
    expect(v[0].measured).toContain('FLAGGED: 3 errors');
    expect(v[1].measured).toContain('1 wrong payloads');
    expect(v[1].verdict).toBe('missed');
  });

  it('audit completeness: one row per successful request, at most one per request sent', () => {
    const counts = { read: { sent: 110, ok2xx: 100 }, search: { sent: 50, ok2xx: 50 } };
    expect(auditVerdict({ read: 104, search: 50 }, counts).ok).toBe(true);
    expect(auditVerdict({ read: 99, search: 50 }, counts).ok).toBe(false);
    expect(auditVerdict({ read: 111, search: 50 }, counts).ok).toBe(false);
    expect(auditVerdict({ read: 100, search: 50, update: 1 }, counts).ok).toBe(false);
    expect(auditVerdict({ read: 100 }, counts).detail).toContain('search: 0 rows for 50');
  });
});
