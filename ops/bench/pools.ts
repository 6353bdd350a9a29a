/**
 * Pool sizes for the comparison (issue 18): LHCMS and the raw baseline run at
 * the same time, so both pools, LHCMS's audit connections and the harness's
 * own must fit in PostgreSQL's max_connections together with what the other
 * users of the cluster hold — or the baseline would be refused connections
 * under load and its errors would be measured as its speed. Pure
 * (pools.spec.ts).
 */

/** LHCMS's connections outside its request pool: the audit trail's (AUDIT_CONNECTIONS) and a periodic job's. */
export const LHCMS_EXTRA_CONNECTIONS = 3 + 2;
/** The harness's own: the admin client of the statistics, a fixture query, one spare. */
export const HARNESS_CONNECTIONS = 3;
/** Room left to the other users of a shared cluster (tests that start meanwhile). */
export const SAFETY_MARGIN = 5;
/** Below this, a pool would measure queueing rather than the server: refuse to run. */
export const MIN_POOL = 8;

export interface PoolInputs {
  /** PostgreSQL's max_connections. */
  maxConnections: number;
  /** superuser_reserved_connections (LHCMS connects as an ordinary role: it cannot use them). */
  reserved: number;
  /** Client backends connected now (other engineers, this harness). */
  used: number;
  /** LHCMS's DB_POOL_SIZE and DB_MAX_OVERFLOW as configured (undefined: LHCMS's defaults). */
  poolSize?: number;
  maxOverflow?: number;
  /** The smallest pool worth measuring (default MIN_POOL; a run at lower concurrency needs fewer). */
  minPool?: number;
}

export interface PoolPlan {
  /** Both servers' pool maximum (LHCMS: DB_POOL_SIZE + DB_MAX_OVERFLOW; the baseline: its pg Pool max). */
  perServer: number;
  /** What LHCMS is started with. */
  poolSize: number;
  maxOverflow: number;
  /** The connections the cluster has for this run (max − reserved − used). */
  free: number;
  /** Connections the run may hold at once: 2 pools + LHCMS's extra + the harness's. */
  needed: number;
  /** True when the pools were made smaller than LHCMS's defaults to fit. */
  shrunk: boolean;
  /** One line for the log and the report. */
  explain: string;
}

export class PoolError extends Error {}

/**
 * Both pools as large as LHCMS's configuration asks (defaults 20 + 30) when
 * that fits; smaller when it does not and the sizes were LHCMS's defaults;
 * an error when the sizes were set explicitly and do not fit, or when even
 * MIN_POOL does not.
 */
export function planPools(i: PoolInputs): PoolPlan {
  const explicit = i.poolSize !== undefined || i.maxOverflow !== undefined;
  const size = i.poolSize ?? 20;
  const overflow = i.maxOverflow ?? 30;
  const desired = size + overflow;
  const free = i.maxConnections - i.reserved - i.used;
  const fixed = LHCMS_EXTRA_CONNECTIONS + HARNESS_CONNECTIONS + SAFETY_MARGIN;
  const fits = Math.floor((free - fixed) / 2);
  const why = `max_connections ${i.maxConnections} − ${i.reserved} reserved − ${i.used} in use = ${free} free; ${fixed} kept for LHCMS's audit/jobs (${LHCMS_EXTRA_CONNECTIONS}), the harness (${HARNESS_CONNECTIONS}) and others (${SAFETY_MARGIN})`;
  if (desired <= fits)
    return {
      perServer: desired,
      poolSize: size,
      maxOverflow: overflow,
      free,
      needed: 2 * desired + fixed,
      shrunk: false,
      explain: `pools: LHCMS ${size} + ${overflow} and the baseline ${desired} (${why}: room for 2 × ${fits})`,
    };
  if (explicit)
    throw new PoolError(
      `pools: LHCMS's DB_POOL_SIZE + DB_MAX_OVERFLOW = ${desired} and the baseline's ${desired} do not fit together (${why}: at most ${Math.max(0, fits)} each). Pass smaller --server-env DB_POOL_SIZE/DB_MAX_OVERFLOW, or free connections.`,
    );
  const min = i.minPool ?? MIN_POOL;
  if (fits < min)
    throw new PoolError(
      `pools: PostgreSQL has room for ${Math.max(0, fits)} connections per server (${why}); at least ${min} are needed. Free connections or raise max_connections.`,
    );
  const s = Math.min(size, fits);
  return {
    perServer: fits,
    poolSize: s,
    maxOverflow: fits - s,
    free,
    needed: 2 * fits + fixed,
    shrunk: true,
    explain: `pools: LHCMS ${s} + ${fits - s} and the baseline ${fits}, smaller than LHCMS's default ${desired} to fit together (${why})`,
  };
}
