import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { RedisLink, RedisUnavailableError, socketErrorCategory } from '@lhcms/cache';
import { Env } from '@lhcms/config';
import { DatabaseConnector } from '@lhcms/database';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { MetricsService } from '../metrics';
import type { ObjectStore } from '@lhcms/storage';
import { ATTACHMENT_STORE } from '../attachments';
import { UmsClient } from '../ums-gateway';

/** Each dependency check gives up after this long (the readiness probe's own timeout is longer). */
export const CHECK_TIMEOUT_MS = 1500;
/** Results are reused this long, so that probe storms do not hammer the dependencies. */
export const CHECK_CACHE_MS = 1500;

export type DependencyKey = 'database' | 'redis' | 'ums' | 'storage';
/** Dependencies whose failure degrades the replica but never makes it unready. */
const SOFT: ReadonlySet<DependencyKey> = new Set(['redis', 'ums', 'storage']);

/** A failed check, with a message safe for a public body: no host, URL, credential or stack. */
class CheckFailed extends Error {}

/** The public message for an error, by category; the details go to the log only. */
function publicMessage(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timeout';
  if (err instanceof CheckFailed) return err.message;
  const code = (err as { code?: unknown }).code;
  const category = socketErrorCategory(code);
  if (category) return category;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
    ? `database error ${code}` // a PostgreSQL SQLSTATE
    : 'unavailable';
}

/** The error for the log: class, code and message with any URL credentials removed. */
function logDetail(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: unknown }).code ?? (cause as { code?: unknown })?.code;
  const msg = `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}`;
  return msg.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s@/]*@/gi, (m) => m.replace(/\/\/.*@/, '//***@'));
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new CheckFailed('timeout'));
    const onAbort = () => reject(new CheckFailed('timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A soft dependency's `down` as `degraded`: reported, but the check (and readiness) passes. */
function degradedIfDown(key: DependencyKey, r: HealthIndicatorResult): HealthIndicatorResult {
  const detail = r[key];
  if (detail?.status !== 'down') return r;
  return { [key]: { ...detail, status: 'degraded' } };
}

/**
 * Dependency checks: PostgreSQL (`SELECT 1` on the app's primary pool), Redis
 * (when REDIS_URL is set: RedisLink's state, and a PING within
 * REDIS_TIMEOUT_MS while it is up; on a cluster, every master's
 * `cluster_state:ok`) and the UMS (`GET {UMS_BASE_URL}/health`,
 * UmsClient.health),
 * each bounded by CHECK_TIMEOUT_MS and cached for CHECK_CACHE_MS (concurrent
 * probes share one run).
 *
 * Readiness means "this replica can serve": only the database can fail it.
 * Redis and the UMS are reported `degraded` instead of `down` (requests are
 * served from the memory cache and cached principals meanwhile), and in
 * `lhcms_dependency_up`. Results carry category messages only ("timeout",
 * "connection refused"), never connection strings or stacks; the details are
 * logged when a dependency goes down (RedisLink logs Redis's outages), and
 * its recovery is logged too.
 */
@Injectable()
export class DependencyChecks {
  private readonly logger = new Logger('Readiness');
  private readonly lastStatus = new Map<DependencyKey, 'up' | 'down'>();

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly env: Env,
    private readonly redisLink: RedisLink,
    private readonly metrics: MetricsService,
    private readonly umsClient: UmsClient,
    @InjectDataSource() private readonly dataSource: DataSource,
    connector: DatabaseConnector,
    @Inject(ATTACHMENT_STORE) private readonly store: ObjectStore,
  ) {
    // Down until connected (the process starts while it may be down); then readiness keeps it.
    metrics.setDependencyUp('database', false);
    connector.onConnect(() => metrics.setDependencyUp('database', true));
    if (redisLink.configured) {
      metrics.setDependencyUp('redis', redisLink.status.up);
      redisLink.onStateChange((up) => metrics.setDependencyUp('redis', up));
    }
  }

  /**
   * The checks readiness runs: database, redis (only when configured), ums,
   * and the attachment store when it is S3 (soft: attachments fail with 503
   * while it is down, everything else is served; the filesystem store is a
   * local folder, checked by its first use).
   */
  all(): Array<() => PromiseLike<HealthIndicatorResult>> {
    const checks = [() => this.database()];
    if (this.redisLink.configured) checks.push(() => this.redis());
    checks.push(() => this.ums());
    if (this.store.kind === 's3') checks.push(() => this.storage());
    return checks;
  }

  storage(): PromiseLike<HealthIndicatorResult> {
    return this.attempt('storage', () => this.store.check());
  }

  database(): PromiseLike<HealthIndicatorResult> {
    return this.attempt('database', (signal) => this.selectOne(signal));
  }

  redis(): PromiseLike<HealthIndicatorResult> {
    return this.attempt('redis', async () => {
      try {
        await this.redisLink.ping();
      } catch (err) {
        throw new CheckFailed(err instanceof RedisUnavailableError ? err.reason : 'error');
      }
      // A cluster (REDIS_MODE=cluster) says so: up means every master answered with cluster_state:ok.
      return this.redisLink.mode === 'cluster' ? { mode: 'cluster' } : undefined;
    });
  }

  ums(): PromiseLike<HealthIndicatorResult> {
    return this.attempt('ums', (signal) => this.umsHealth(signal));
  }

  private attempt(
    key: DependencyKey,
    fn: (signal: AbortSignal) => Promise<Record<string, unknown> | void>,
  ): PromiseLike<HealthIndicatorResult> {
    const result = this.indicators
      .check(key)
      .attempt(async ({ signal }) => {
        try {
          const data = await fn(signal);
          this.transition(key, 'up');
          return data;
        } catch (err) {
          const message = publicMessage(err, signal);
          this.transition(key, 'down', `${message} (${logDetail(err)})`);
          throw new CheckFailed(message);
        }
      })
      .withTimeout(CHECK_TIMEOUT_MS)
      .cacheFor(CHECK_CACHE_MS);
    return SOFT.has(key) ? result.then((r) => degradedIfDown(key, r)) : result;
  }

  private transition(key: DependencyKey, status: 'up' | 'down', detail?: string): void {
    // RedisLink logs Redis's outages and recoveries itself, once each.
    if (key === 'redis') return;
    // The UMS gauge follows every UMS call (MetricsService.umsCall); the database's, readiness.
    if (key === 'database' || key === 'storage') {
      this.metrics.setDependencyUp(key, status === 'up');
    }
    const before = this.lastStatus.get(key);
    this.lastStatus.set(key, status);
    const consequence = SOFT.has(key) ? ' (degraded; readiness unaffected)' : '';
    if (status === 'down' && before !== 'down')
      this.logger.warn(`${key} is down${consequence}: ${detail}`);
    else if (status === 'up' && before === 'down') this.logger.log(`${key} is up again`);
  }

  /**
   * SELECT 1 on a client of the app's own pool. On timeout the client is
   * destroyed, not returned: against a silent (firewalled) server a query
   * never answers, and a reused client would leak the pool dry.
   */
  private async selectOne(signal: AbortSignal): Promise<void> {
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    if (!this.dataSource.isInitialized || !pool) throw new CheckFailed('not connected');
    const connecting = pool.connect();
    let client: PoolClient;
    try {
      client = await abortable(connecting, signal);
    } catch (err) {
      // A connection that completes after the timeout goes back to the pool.
      connecting.then(
        (c) => c.release(),
        () => undefined,
      );
      throw err;
    }
    try {
      await abortable(client.query('SELECT 1'), signal);
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : new Error('health check failed'));
      throw err;
    }
  }

  /**
   * GET {UMS_BASE_URL}/health. A 404 counts as up: the UMS answered, it just
   * has no health endpoint (the published LHUMS has none).
   */
  private async umsHealth(signal: AbortSignal): Promise<Record<string, unknown> | void> {
    if (!this.env.UMS_BASE_URL) throw new CheckFailed('not configured');
    const status = await this.umsClient.health(signal);
    if (status >= 200 && status < 300) return;
    if (status === 404) return { note: 'reachable; the UMS has no /health endpoint (404)' };
    throw new CheckFailed(`status ${status}`);
  }
}
