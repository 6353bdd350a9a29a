import {
  HARNESS_CONNECTIONS,
  LHCMS_EXTRA_CONNECTIONS,
  planPools,
  PoolError,
  SAFETY_MARGIN,
} from './pools';

const fixed = LHCMS_EXTRA_CONNECTIONS + HARNESS_CONNECTIONS + SAFETY_MARGIN;

describe('bench pool sizes', () => {
  it("keeps LHCMS's default 20 + 30 for both when they fit together", () => {
    const p = planPools({ maxConnections: 200, reserved: 3, used: 10 });
    expect(p).toMatchObject({ perServer: 50, poolSize: 20, maxOverflow: 30, shrunk: false });
    expect(p.needed).toBeLessThanOrEqual(200 - 3 - 10);
  });

  it('shrinks both to what fits, and says so', () => {
    const p = planPools({ maxConnections: 100, reserved: 3, used: 2 });
    expect(p.perServer).toBe(Math.floor((95 - fixed) / 2));
    expect(p.poolSize + p.maxOverflow).toBe(p.perServer);
    expect(p.poolSize).toBe(20);
    expect(p.needed).toBeLessThanOrEqual(95);
    expect(p.shrunk).toBe(true);
    expect(p.explain).toContain('max_connections 100');
  });

  it('refuses explicit sizes that do not fit, and a cluster with no room', () => {
    expect(() =>
      planPools({ maxConnections: 100, reserved: 3, used: 2, poolSize: 40, maxOverflow: 20 }),
    ).toThrow(PoolError);
    expect(() => planPools({ maxConnections: 100, reserved: 3, used: 80 })).toThrow(
      /room for \d+ connections per server/,
    );
    expect(
      planPools({ maxConnections: 100, reserved: 3, used: 2, poolSize: 10, maxOverflow: 5 }),
    ).toMatchObject({ perServer: 15, shrunk: false });
    // A run at low concurrency makes do with less.
    expect(planPools({ maxConnections: 100, reserved: 3, used: 76, minPool: 2 })).toMatchObject({
      perServer: 4,
      poolSize: 4,
      maxOverflow: 0,
    });
  });
});
