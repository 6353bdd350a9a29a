import type { AuditWriteMode as AuditObserverMode } from '../audit/audit-observer';
import type {
  UmsOperation as UmsClientOperation,
  UmsOutcome as UmsClientOutcome,
} from '../ums-gateway/ums-client';
import { METRICS, type MetricSpec, SCRAPE_TARGET_LABELS } from './metric-catalogue';
import {
  type AuditWriteMode,
  labelCombinations,
  type UmsOperation,
  type UmsOutcome,
  zeroSeriesOf,
} from './metrics.service';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The modules that report through observer interfaces name the same label values as the catalogue.
const sameValues: [
  Same<UmsOperation, UmsClientOperation>,
  Same<UmsOutcome, UmsClientOutcome>,
  Same<AuditWriteMode, AuditObserverMode>,
] = [true, true, true];

describe('the metric catalogue', () => {
  const specs = METRICS as readonly MetricSpec[];

  it('uses no label the Prometheus Operator sets on every target (it would become exported_<label>)', () => {
    expect(sameValues).toEqual([true, true, true]);
    for (const m of specs) {
      for (const l of m.labels) {
        expect({
          metric: m.name,
          label: l,
          reserved: SCRAPE_TARGET_LABELS.includes(l as never),
        }).toEqual({
          metric: m.name,
          label: l,
          reserved: false,
        });
        expect(l).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(l.startsWith('__')).toBe(false);
        expect(['le', 'quantile']).not.toContain(l);
      }
    }
  });

  it('names each metric once; declared values belong to declared labels', () => {
    expect(new Set(specs.map((m) => m.name)).size).toBe(specs.length);
    for (const m of specs) {
      for (const [label, values] of Object.entries(m.values ?? {})) {
        expect(m.labels).toContain(label);
        expect(values.length).toBeGreaterThan(0);
        expect(new Set(values).size).toBe(values.length);
      }
    }
  });

  it('exports every failure counter an alert reads at 0 from start: all combinations of closed labels, never a gauge', () => {
    const zero = zeroSeriesOf();
    const keys = zero.map((s) => `${s.name}${JSON.stringify(s.labels)}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'lhcms_audit_write_failures_total{"mode":"transactional"}',
        'lhcms_audit_write_failures_total{"mode":"batch"}',
        'lhcms_rate_limit_rejections_total{}',
        'lhcms_rate_limiter_fail_open_total{}',
        'lhcms_ums_request_duration_seconds{"operation":"me","outcome":"timeout"}',
        'lhcms_cache_requests_total{"cache":"principal","result":"hit"}',
        'lhcms_case_operations_total{"operation":"create","status":"error"}',
      ]),
    );
    expect(zero.filter((s) => s.name === 'lhcms_ums_request_duration_seconds')).toHaveLength(15);
    // Gauges (a 0 would claim "down" or "closed") and open labels (route, method) are not pre-created.
    expect(zero.some((s) => s.name === 'lhcms_dependency_up')).toBe(false);
    expect(zero.some((s) => s.name === 'lhcms_requests_total')).toBe(false);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('labelCombinations: the cross product of declared values, undefined for an open label', () => {
    const spec: MetricSpec = {
      name: 'x_total',
      type: 'counter',
      labels: ['a', 'b'],
      help: '',
      values: { a: ['1', '2'], b: ['x', 'y', 'z'] },
    };
    expect(labelCombinations(spec)).toHaveLength(6);
    expect(labelCombinations(spec)).toContainEqual({ a: '2', b: 'z' });
    expect(labelCombinations({ ...spec, values: { a: ['1'] } })).toBeUndefined();
    expect(labelCombinations({ ...spec, labels: [] })).toEqual([{}]);
  });
});
