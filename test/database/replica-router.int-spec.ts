import { dataSourceOptions, ReplicaRouter, type ReplicaFallbackReason } from '@lhcms/database';
import { testDatabaseUrls, testEnv, TcpProxy } from '@lhcms/testing';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

/**
 * ReplicaRouter on the run's PostgreSQL, with the "standby" behind a TCP
 * proxy the test cuts (the run's server is not in recovery: the router takes
 * it as current, lag 0). The real primary/standby topology, lag included, is
 * test/topology/scale-out.int-spec.ts; this is the routing and fallback logic,
 * fast. Probes are run by hand (no connector: no timer).
 */
describe('ReplicaRouter', () => {
  let ds: DataSource;
  let proxy: TcpProxy;
  let router: ReplicaRouter;
  const reasons: ReplicaFallbackReason[] = [];
  /** Which pool a read ran on, after the router's choice (and any retry). */
  const where = (replica: boolean) =>
    router.run(replica, async (pool: Pool) => {
      await pool.query('SELECT 1');
      return pool === router.pools[0] ? 'standby' : 'primary';
    });

  beforeAll(async () => {
    const { appUrl } = testDatabaseUrls();
    const u = new URL(appUrl);
    proxy = await TcpProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
    const env = testEnv({
      DATABASE_REPLICA_URLS: proxy.rewrite(appUrl),
      DATABASE_REPLICA_MAX_LAG_MS: '1000',
      DB_POOL_TIMEOUT: '1',
    });
    ds = new DataSource(dataSourceOptions(env, 'app'));
    await ds.initialize();
    router = new ReplicaRouter(env, ds);
    router.onFallback((r) => reasons.push(r));
  });
  afterAll(async () => {
    await router?.onApplicationShutdown();
    await ds?.destroy();
    await proxy?.close();
  });
  beforeEach(() => {
    reasons.length = 0;
  });

  it('before its first probe a standby is not used: reads go to the primary, counted as down', async () => {
    expect(router.status()).toEqual([{ index: 0, up: false, lagMs: undefined, inUse: false }]);
    expect(await where(true)).toBe('primary');
    expect(reasons).toEqual(['down']);
  });

  it('a probed standby serves replica reads; other reads never reach it', async () => {
    await router.probe();
    expect(router.status()).toEqual([{ index: 0, up: true, lagMs: 0, inUse: true }]);
    expect(await where(true)).toBe('standby');
    expect(await where(false)).toBe('primary');
    expect(reasons).toEqual([]);
  });

  it('a standby that goes away: the read runs again on the primary (no error), the standby is out of use until a probe answers', async () => {
    await router.probe();
    await proxy.refuse();
    expect(await where(true)).toBe('primary');
    expect(reasons).toEqual(['error']);
    expect(router.status()[0]).toMatchObject({ up: false, inUse: false });
    expect(await where(true)).toBe('primary');
    expect(reasons).toEqual(['error', 'down']);
    await router.probe();
    expect(router.status()[0]).toMatchObject({ up: false });

    await proxy.forward();
    await router.probe();
    expect(router.status()[0]).toMatchObject({ up: true, inUse: true });
    expect(await where(true)).toBe('standby');
  });

  it('a query error that is not the standby failing is the caller’s: not retried on the primary', async () => {
    await router.probe();
    const runs: string[] = [];
    await expect(
      router.run(true, async (pool) => {
        runs.push(pool === router.pools[0] ? 'standby' : 'primary');
        await pool.query('SELECT * FROM no_such_table');
      }),
    ).rejects.toMatchObject({ code: '42P01' });
    await expect(
      router.run(true, async (pool) => {
        runs.push(pool === router.pools[0] ? 'standby' : 'primary');
        const c = await pool.connect();
        try {
          await c.query('SET statement_timeout = 1');
          await c.query('SELECT pg_sleep(1)');
        } finally {
          await c.query('RESET statement_timeout').catch(() => undefined);
          c.release();
        }
      }),
    ).rejects.toMatchObject({ code: '57014' });
    expect(runs).toEqual(['standby', 'standby']);
    expect(reasons).toEqual([]);
    expect(router.status()[0]).toMatchObject({ up: true });
  });
});
