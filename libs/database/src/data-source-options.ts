import type { Env } from '@lhcms/config';
import type { DataSourceOptions, MixedList } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import { MIGRATIONS } from '../../../migrations';
import { userOf } from './pg-url';
import { resilientPg, type ResilientPoolConfig } from './resilient-pool';

export type DbRole = 'app' | 'owner';

/** pg Pool settings equivalent to the seed's SQLAlchemy engine options. */
function poolExtra(env: Env, applicationName: string) {
  return {
    // Load shedding: a full wait queue refuses at once (ResilientPool).
    maxWaiting: env.DB_POOL_MAX_WAITING,
    // pool_size + max_overflow: the pool never holds more than this many connections.
    max: env.DB_POOL_SIZE + env.DB_MAX_OVERFLOW,
    // pool_size: connections above it are closed after 10 s idle.
    min: 0,
    idleTimeoutMillis: 10_000,
    // pool_recycle
    maxLifetimeSeconds: env.DB_POOL_RECYCLE || undefined,
    // pool_timeout: the whole wait for a connection, queued or being opened.
    connectionTimeoutMillis: env.DB_POOL_TIMEOUT * 1000,
    // pool_pre_ping: TCP keep-alive finds dead peers; pg-pool evicts idle clients that error.
    keepAlive: env.DB_POOL_PRE_PING,
    keepAliveInitialDelayMillis: 10_000,
    statement_timeout: env.DB_STATEMENT_TIMEOUT_MS || undefined,
    // The client side's bound on one statement: a silent server (a network black hole,
    // where statement_timeout cannot answer) fails the request instead of holding it.
    query_timeout: env.dbQueryTimeoutMs || undefined,
    application_name: applicationName,
  } satisfies ResilientPoolConfig;
}

/**
 * The settings of a pool of the application role on the primary outside
 * TypeORM (e.g. the audit trail's own connections): same URL and settings as
 * the DataSource's pool. Use it with ResilientPool.
 */
export function appPoolConfig(env: Env): ResilientPoolConfig {
  if (!env.DATABASE_URL)
    throw new Error('DATABASE_URL is not set (and no embedded database was started)');
  return { ...poolExtra(env, 'lhcms-api'), connectionString: env.DATABASE_URL };
}

/**
 * The settings of the application role's pool on one standby of
 * DATABASE_REPLICA_URLS (ReplicaRouter): the primary pool's settings.
 */
export function replicaPoolConfig(env: Env, url: string): ResilientPoolConfig {
  return { ...poolExtra(env, 'lhcms-api'), connectionString: url };
}

/**
 * The one definition of how LHCMS connects to PostgreSQL, used by the app
 * (role `app`), the migration CLI and the tests (role `owner`).
 */
export function dataSourceOptions(
  env: Env,
  role: DbRole,
  extra: { entities?: MixedList<string | Function>; poolMax?: number } = {},
): DataSourceOptions {
  const url = role === 'owner' ? env.ownerDatabaseUrl : env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (and no embedded database was started)');
  const pool = poolExtra(env, role === 'owner' ? 'lhcms-migrate' : 'lhcms-api');
  if (extra.poolMax) pool.max = extra.poolMax;
  const base: PostgresDataSourceOptions = {
    type: 'postgres',
    // node-postgres with ResilientPool: connections that break never end the process.
    driver: resilientPg,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    entities: extra.entities ?? [],
    extra: pool,
    logging: false,
  };
  if (role === 'owner') {
    const app = env.DATABASE_URL ? userOf(env.DATABASE_URL) : undefined;
    // Migrations grant table privileges to the application role by this name.
    const options = app ? `-c lhcms.app_role=${app}` : undefined;
    return { ...base, url, extra: { ...pool, options } };
  }
  // The standbys of DATABASE_REPLICA_URLS are not TypeORM replication: ReplicaRouter holds
  // their pools (replicaPoolConfig) and decides, per read, whether one may serve it.
  return { ...base, url };
}
