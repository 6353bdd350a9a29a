import * as path from 'node:path';
import { parseArgs } from 'node:util';

/** Scenarios both servers answer (the raw baseline only implements these). */
export const READ_SCENARIOS = [
  'list_page1',
  'list_offset_deep',
  'list_cursor_deep',
  'queue_due',
  'queue_due_cursor',
  'get',
] as const;
/** Scenarios only LHCMS runs (writes, and the mix that contains writes). */
export const WRITE_SCENARIOS = ['create', 'status', 'mixed'] as const;
/** Reads only LHCMS answers (the baseline has no reports): the on-time report over a year. */
export const REPORT_SCENARIOS = ['report_on_time'] as const;
/** Every scenario without a baseline point, in the order they run. */
export const LHCMS_ONLY_SCENARIOS = [...REPORT_SCENARIOS, ...WRITE_SCENARIOS] as const;
export const SCENARIOS = [...READ_SCENARIOS, ...REPORT_SCENARIOS, ...WRITE_SCENARIOS] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** Scenario groups with phases of their own (selected with --scenarios like the scenarios). */
export const GROUPS = ['attachments'] as const;

/** The attachments group (issue #20): sizes in MiB, counts, concurrencies. */
export interface AttachmentsConfig {
  largeMB: number;
  largePairs: number;
  smallMB: number;
  smallCount: number;
  smallPairs: number;
  concurrency: number;
  backgroundConcurrency: number;
  backgroundMB: number;
}

export type MixKind = 'get' | 'list_page1' | 'status' | 'create';

export interface BenchConfig {
  /** Seconds measured per (scenario, concurrency) point. */
  duration: number;
  /** Seconds of unrecorded load before each point. */
  warmup: number;
  /** Seconds after which the load generator gives up on a request (counted as an error). */
  timeout: number;
  concurrencies: number[];
  /**
   * The main comparison (get, list page 1): interleaved slices of LHCMS and
   * the baseline at these concurrencies instead of sequential points.
   * Empty: off (--no-interleave), get and list page 1 then run as points.
   */
  interleaveConcurrencies: number[];
  /** Seconds per slice of the interleaved comparison. */
  sliceSeconds: number;
  /** Rounds of the interleaved comparison (one slice per arm each, order alternating). */
  rounds: number;
  /** Payload check: every Nth 2xx answer of a point or slice is compared with the seed. */
  checkEvery: number;
  scenarios: ScenarioName[];
  /** The attachments group; undefined when not selected. */
  attachments: AttachmentsConfig | undefined;
  /** Live cases per lab; the first is the lab every scenario runs in (the largest). */
  labSizes: number[];
  /** Rows skipped by the deep list (offset page and the cursor at the same depth). */
  deepOffset: number;
  perPage: number;
  usersPerLab: number;
  /** Superuser URL of the cluster's maintenance database. */
  adminUrl: string;
  dbName: string;
  reuseDb: boolean;
  dropDb: boolean;
  /** `sql`: multi-row INSERT as the owner role (fast); `api`: POST through LHCMS (slow, always valid). */
  seedMode: 'sql' | 'api';
  /** Redis for LHCMS's cache; undefined = LHCMS's in-memory cache. */
  redisUrl: string | undefined;
  baseline: boolean;
  roundTrips: boolean;
  /** Sequential requests per scenario in the round-trip phase. */
  roundTripRequests: number;
  profile: boolean;
  profileDuration: number;
  profileConcurrency: number;
  startup: boolean;
  startupTrials: number;
  npmStartTrials: number;
  /** Status values a status change toggles between (both must stay legal transitions). */
  statusCycle: [string, string];
  /** Extra JSON merged into every status-change body (e.g. a reason, once transitions need one). */
  statusExtra: Record<string, unknown>;
  mix: Array<{ kind: MixKind; weight: number }>;
  logLevel: string;
  /** Extra environment for the LHCMS server (pool sizes, cache TTL, ...). */
  serverEnv: Record<string, string>;
  outDir: string;
  label: string;
  /** Lab ids of the seed (fixed, so that a reused database matches the UMS seed). */
  labIdBase: number;
  /** Abort the whole run after this many seconds (every run stops by itself). */
  watchdogSeconds: number;
}

export class ConfigError extends Error {}

const HELP = `npm run bench -- [options]      (every option also reads BENCH_<NAME> from the environment)

  --short                 a quick look (about 5 min): 20000,5000 cases, 3 s points at concurrency 16,
                          3 s slices × 4 rounds, 1 s warm-up, 3 s profiles, 10 round-trip requests,
                          1 startup trial, no npm start, no attachments group (unless in --scenarios)
  --duration <s>          seconds per point (default 10)
  --warmup <s>            unrecorded seconds before each point and per server before the slices (default 2)
  --timeout <s>           request timeout of the load generator, counted as an error (default 10)
  --concurrency <list>    connections of the points, comma-separated (default 1,16,64)
  --interleave-concurrency <list>  get and list page 1: LHCMS and the baseline interleaved in slices
                          at these concurrencies (default 16,64)
  --no-interleave         get and list page 1 as sequential points at --concurrency instead
  --slice <s>             seconds per slice (default 5; --short 3)
  --rounds <n>            rounds of slices, order alternating A/B, B/A, … (default 6; --short 4)
  --check-every <n>       payload check of every Nth 2xx answer under load (default 50; 1 = all)
  --scenarios <list>      ${[...SCENARIOS, ...GROUPS].join(',')} (default all)
  --att-large-mb <MB>     attachments: the one large file (default 200; --short 100)
  --att-large-pairs <n>   attachments: baseline/LHCMS pairs of the large file (default 2)
  --att-small-count <n>   attachments: small files per run (default 100; --short 40)
  --att-small-mb <MB>     attachments: size of each small file (default 2)
  --att-small-pairs <n>   attachments: pairs of the small-file runs (default 1)
  --att-concurrency <n>   attachments: concurrent small-file transfers (default 8)
  --att-background-concurrency <n>  uploads running during the get/list points (default 2)
  --att-background-mb <MB>  size of each background upload (default 2)
  --cases <list>          live cases per lab, largest first (default 100000,20000,5000)
  --deep-offset <n>       depth of the deep list (default 10000; page = offset/per_page + 1)
  --per-page <n>          page size of every list (default 50)
  --users-per-lab <n>     UMS users logged in per lab; connections rotate their tokens (default 8)
  --database-url <url>    superuser URL (BENCH_DATABASE_URL; default postgresql://postgres@127.0.0.1:5432/postgres)
  --db-name <name>        bench database (default lhcms_bench); dropped and recreated unless --reuse-db
  --reuse-db              keep an existing, already seeded bench database (reseeds when the sizes differ)
  --drop-db               drop the bench database at the end
  --seed <sql|api>        seed with multi-row INSERTs (default) or through POST /api/v1/cases (slow)
  --redis-url <url|none>  LHCMS cache (default redis://127.0.0.1:6379/13; none = in-memory)
  --no-baseline --no-round-trips --no-profile --no-startup   skip a phase
  --round-trip-requests <n>  sequential requests counted per scenario (default 20)
  --profile-duration <s>  seconds of load per profiled scenario (default 10)
  --profile-concurrency <n>  (default 16)
  --startup-trials <n>    node dist/... start-to-/health trials (default 3)
  --npm-start-trials <n>  npm start (prestart build included) trials (default 1)
  --status-cycle <a,b>    statuses a status change toggles between (default pending,on_hold)
  --status-extra <json>   merged into each status body, e.g. '{"reason":"bench"}'
  --mix <k:w,...>         mixed scenario weights (default get:40,list_page1:30,status:20,create:10)
  --log-level <level>     LHCMS LOG_LEVEL (default info, as in production)
  --server-env K=V        extra LHCMS environment, repeatable (e.g. DB_POOL_SIZE=10)
  --out <dir>             results folder (default ops/bench/results)
  --label <text>          free text recorded with the results
  --lab-id-base <n>       lab ids are base+1.. (default 9000)
  --watchdog <s>          abort after this many seconds (default 2400)
  --help`;

type Raw = Record<string, string | boolean | string[] | undefined>;

function num(name: string, v: string | undefined, def: number, min = 0): number {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min)
    throw new ConfigError(`--${name}: '${v}' is not a number ≥ ${min}`);
  return n;
}

function int(name: string, v: string | undefined, def: number, min = 0): number {
  const n = num(name, v, def, min);
  if (!Number.isInteger(n)) throw new ConfigError(`--${name}: '${v}' is not an integer`);
  return n;
}

function intList(name: string, v: string | undefined, def: number[], min = 1): number[] {
  if (v === undefined || v === '') return def;
  const out = v.split(',').map((s) => int(name, s.trim(), 0, min));
  if (out.length === 0) throw new ConfigError(`--${name}: empty list`);
  return out;
}

function bool(v: string | boolean | undefined, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v === 'boolean') return v;
  return !['0', 'false', 'no', 'off', ''].includes(v.toLowerCase());
}

export function parseMix(v: string): Array<{ kind: MixKind; weight: number }> {
  const kinds: MixKind[] = ['get', 'list_page1', 'status', 'create'];
  const mix = v.split(',').map((part) => {
    const [k, w] = part.split(':').map((s) => s.trim());
    if (!kinds.includes(k as MixKind))
      throw new ConfigError(`--mix: '${k}' is not one of ${kinds.join(', ')}`);
    return { kind: k as MixKind, weight: num('mix', w, 0, 0) };
  });
  if (mix.reduce((a, m) => a + m.weight, 0) <= 0) throw new ConfigError('--mix: weights sum to 0');
  return mix;
}

/**
 * Flags win over BENCH_* environment variables, which win over the defaults.
 * Pure (argv and env are arguments) so that it is unit-tested.
 */
export function parseConfig(
  argv: string[],
  env: NodeJS.ProcessEnv,
  projectRoot: string,
): BenchConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      help: { type: 'boolean' },
      short: { type: 'boolean' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      timeout: { type: 'string' },
      concurrency: { type: 'string' },
      'interleave-concurrency': { type: 'string' },
      'no-interleave': { type: 'boolean' },
      slice: { type: 'string' },
      rounds: { type: 'string' },
      'check-every': { type: 'string' },
      scenarios: { type: 'string' },
      'att-large-mb': { type: 'string' },
      'att-large-pairs': { type: 'string' },
      'att-small-count': { type: 'string' },
      'att-small-mb': { type: 'string' },
      'att-small-pairs': { type: 'string' },
      'att-concurrency': { type: 'string' },
      'att-background-concurrency': { type: 'string' },
      'att-background-mb': { type: 'string' },
      cases: { type: 'string' },
      'deep-offset': { type: 'string' },
      'per-page': { type: 'string' },
      'users-per-lab': { type: 'string' },
      'database-url': { type: 'string' },
      'db-name': { type: 'string' },
      'reuse-db': { type: 'boolean' },
      'drop-db': { type: 'boolean' },
      seed: { type: 'string' },
      'redis-url': { type: 'string' },
      'no-baseline': { type: 'boolean' },
      'no-round-trips': { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      'no-startup': { type: 'boolean' },
      'profile-duration': { type: 'string' },
      'round-trip-requests': { type: 'string' },
      'profile-concurrency': { type: 'string' },
      'startup-trials': { type: 'string' },
      'npm-start-trials': { type: 'string' },
      'status-cycle': { type: 'string' },
      'status-extra': { type: 'string' },
      mix: { type: 'string' },
      'log-level': { type: 'string' },
      'server-env': { type: 'string', multiple: true },
      out: { type: 'string' },
      label: { type: 'string' },
      'lab-id-base': { type: 'string' },
      watchdog: { type: 'string' },
    },
  });
  const raw = values as Raw;
  if (raw.help) return 'help';
  /** The flag, else BENCH_<NAME> (dashes → underscores). */
  const get = (name: string): string | undefined => {
    const v = raw[name];
    if (typeof v === 'string') return v;
    return env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const flag = (name: string): boolean | string | undefined =>
    raw[name] === true ? true : env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const short = bool(flag('short'), false);

  const all = [...SCENARIOS, ...GROUPS] as readonly string[];
  // --short leaves out the attachments group (minutes of large transfers) unless it is asked for.
  const selected = (get('scenarios') ?? (short ? SCENARIOS.join(',') : all.join(',')))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of selected)
    if (!all.includes(s))
      throw new ConfigError(`--scenarios: '${s}' is not one of ${all.join(', ')}`);
  const scenarios = selected.filter((s) => (SCENARIOS as readonly string[]).includes(s));
  const attachments: AttachmentsConfig | undefined = selected.includes('attachments')
    ? {
        largeMB: num('att-large-mb', get('att-large-mb'), short ? 100 : 200, 0.001),
        largePairs: int('att-large-pairs', get('att-large-pairs'), 2, 1),
        smallMB: num('att-small-mb', get('att-small-mb'), 2, 0.001),
        smallCount: int('att-small-count', get('att-small-count'), short ? 40 : 100, 1),
        smallPairs: int('att-small-pairs', get('att-small-pairs'), 1, 1),
        concurrency: int('att-concurrency', get('att-concurrency'), 8, 1),
        backgroundConcurrency: int(
          'att-background-concurrency',
          get('att-background-concurrency'),
          2,
          1,
        ),
        backgroundMB: num('att-background-mb', get('att-background-mb'), 2, 0.001),
      }
    : undefined;
  // The case limits of LHCMS (ATTACHMENT_MAX_PER_CASE 100, 250 MiB a file): the scenario puts
  // each run in a case of its own; more small files than that would be refused.
  if (attachments && attachments.smallCount > 100)
    throw new ConfigError('--att-small-count: at most 100 (ATTACHMENT_MAX_PER_CASE)');
  if (attachments && attachments.largeMB > 250)
    throw new ConfigError('--att-large-mb: at most 250 (ATTACHMENT_MAX_BYTES)');

  const seedMode = get('seed') ?? 'sql';
  if (seedMode !== 'sql' && seedMode !== 'api')
    throw new ConfigError(`--seed: '${seedMode}' is not sql or api`);

  const redis = get('redis-url') ?? 'redis://127.0.0.1:6379/13';
  const cycle = (get('status-cycle') ?? 'pending,on_hold').split(',').map((s) => s.trim());
  if (cycle.length !== 2 || !cycle[0] || !cycle[1] || cycle[0] === cycle[1])
    throw new ConfigError('--status-cycle: two different statuses, e.g. pending,on_hold');

  // Moving to on_hold needs a reason (the lifecycle rules); a resume ignores it.
  let statusExtra: Record<string, unknown> = { reason: 'bench: status toggle' };
  const extra = get('status-extra');
  if (extra) {
    try {
      statusExtra = JSON.parse(extra) as Record<string, unknown>;
    } catch {
      throw new ConfigError('--status-extra: not JSON');
    }
    if (typeof statusExtra !== 'object' || statusExtra === null || Array.isArray(statusExtra))
      throw new ConfigError('--status-extra: a JSON object');
  }

  const serverEnv: Record<string, string> = {};
  const envList = [
    ...((raw['server-env'] as string[] | undefined) ?? []),
    ...(env.BENCH_SERVER_ENV ? env.BENCH_SERVER_ENV.split(/\s+/).filter(Boolean) : []),
  ];
  for (const kv of envList) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new ConfigError(`--server-env: '${kv}' is not KEY=VALUE`);
    serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }

  const labSizes = intList(
    'cases',
    get('cases'),
    short ? [20_000, 5_000] : [100_000, 20_000, 5_000],
    1,
  );
  const perPage = int('per-page', get('per-page'), 50, 1);
  const deepOffset = int('deep-offset', get('deep-offset'), 10_000, 0);
  if (deepOffset % perPage !== 0)
    throw new ConfigError('--deep-offset must be a multiple of --per-page (an offset page)');
  if (deepOffset + perPage > labSizes[0])
    throw new ConfigError(
      `--deep-offset ${deepOffset} is beyond the largest lab (${labSizes[0]} cases)`,
    );

  return {
    duration: num('duration', get('duration'), short ? 3 : 10, 0.5),
    warmup: num('warmup', get('warmup'), short ? 1 : 2, 0),
    timeout: num('timeout', get('timeout'), 10, 1),
    concurrencies: intList('concurrency', get('concurrency'), short ? [16] : [1, 16, 64]),
    interleaveConcurrencies: bool(flag('no-interleave'), false)
      ? []
      : intList('interleave-concurrency', get('interleave-concurrency'), [16, 64]),
    sliceSeconds: num('slice', get('slice'), short ? 3 : 5, 0.5),
    rounds: int('rounds', get('rounds'), short ? 4 : 6, 1),
    checkEvery: int('check-every', get('check-every'), 50, 1),
    scenarios: scenarios as ScenarioName[],
    attachments,
    labSizes,
    deepOffset,
    perPage,
    usersPerLab: int('users-per-lab', get('users-per-lab'), 8, 1),
    adminUrl: get('database-url') ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    dbName: get('db-name') ?? 'lhcms_bench',
    reuseDb: bool(flag('reuse-db'), false),
    dropDb: bool(flag('drop-db'), false),
    seedMode,
    redisUrl: redis === 'none' || redis === '' ? undefined : redis,
    baseline: !bool(flag('no-baseline'), false),
    roundTrips: !bool(flag('no-round-trips'), false),
    roundTripRequests: int('round-trip-requests', get('round-trip-requests'), short ? 10 : 20, 1),
    profile: !bool(flag('no-profile'), false),
    profileDuration: num('profile-duration', get('profile-duration'), short ? 3 : 10, 1),
    profileConcurrency: int('profile-concurrency', get('profile-concurrency'), 16, 1),
    startup: !bool(flag('no-startup'), false),
    startupTrials: int('startup-trials', get('startup-trials'), short ? 1 : 3, 0),
    npmStartTrials: int('npm-start-trials', get('npm-start-trials'), short ? 0 : 1, 0),
    statusCycle: [cycle[0], cycle[1]],
    statusExtra,
    mix: parseMix(get('mix') ?? 'get:40,list_page1:30,status:20,create:10'),
    logLevel: get('log-level') ?? 'info',
    serverEnv,
    outDir: path.resolve(projectRoot, get('out') ?? 'ops/bench/results'),
    label: get('label') ?? '',
    labIdBase: int('lab-id-base', get('lab-id-base'), 9000, 0),
    watchdogSeconds: num('watchdog', get('watchdog'), 2400, 10),
  };
}

export const USAGE = HELP;
