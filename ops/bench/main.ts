/**
 * `npm run bench`: seeds a database through the real migrations, starts
 * LHCMS in production mode with ums-dev, drives it with autocannon next to a
 * raw node:http + pg baseline, counts round trips, profiles, measures start
 * time, and writes markdown + JSON under ops/bench/results/. See
 * ops/bench/README.md.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startUmsDev, type UmsDevServer } from '@lhcms/ums-dev';
import { Client } from 'pg';
import {
  cursorFingerprint,
  encodeCursor,
  encodeQueueCursor,
} from '../../apps/api/src/cases/dto/list-query';
import {
  type BenchConfig,
  ConfigError,
  parseConfig,
  READ_SCENARIOS,
  type ScenarioName,
  USAGE,
  LHCMS_ONLY_SCENARIOS,
} from './config';
import { runAttachments } from './attachments';
import {
  type ArmCounts,
  auditVerdict,
  type InterleavedResult,
  interleavedTargets,
  runInterleaved,
} from './interleave';
import { type PointResult, runCount, runPoint, type ServerKind } from './load';
import { checkResponse, Expectations, type ListKind, PayloadSampler } from './payload';
import { MIN_POOL, planPools, PoolError, type PoolPlan } from './pools';
import { machineInfo, processRss, sampleBackgroundBusy } from './machine';
import { type CpuProfile, summariseProfile, trimProfile } from './profile';
import {
  attachmentTargets,
  type AttachmentsReport,
  type AuditCheck,
  type BenchReport,
  type InterleavedReport,
  checkTargets,
  fmtMs,
  fmtRps,
  type ProfileRun,
  renderMarkdown,
  type RoundTrip,
  type StartupTrial,
} from './report';
import {
  createBodies,
  type Fixtures,
  listCursorPath,
  listOffsetPath,
  listPage1Path,
  type RequestSpec,
  queueDueCursorPath,
  queueDuePath,
  type ScenarioContext,
  StatusBook,
} from './scenarios';
import {
  BENCH_SECRET_KEY,
  finishApiSeed,
  prepareDatabase,
  seedViaApi,
  type BenchDatabase,
} from './seed-db';
import {
  baseEnv,
  killAllChildren,
  freePort,
  type LhcmsEnv,
  lhcmsEnv,
  PROJECT_ROOT,
  type Server,
  startBaseline,
  startLhcms,
  startServer,
  LHCMS_MAIN,
  BASELINE_MAIN,
} from './servers';
import { SEED_CREATED_BY } from './seed-data';
import { benchUmsSeed } from './ums-seed';
import {
  diffCounts,
  diffMaps,
  pgCountingProxy,
  pgRoundTrips,
  redisCountingProxy,
} from './wire-count';

const t0 = Date.now();
function log(line: string): void {
  const s = Math.floor((Date.now() - t0) / 1000);
  process.stdout.write(
    `[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`,
  );
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

async function query<T extends object>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** `INFO server` over a raw socket (no Redis client needed for one line). */
function redisVersion(url: string): Promise<string | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port || 6379), u.hostname);
    let buf = '';
    const done = (v?: string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done());
    s.on('error', () => done());
    s.on('connect', () => s.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      const m = /redis_version:([^\r\n]+)/.exec(buf);
      if (m) done(m[1]);
    });
  });
}

/** Just what the sanity checks read of a list or case body. */
interface ListBody {
  cases?: Array<{ id: number }>;
}

async function fetchJson(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: ListBody | undefined; text: string }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as ListBody, text };
  } catch {
    return { status: res.status, body: undefined, text };
  }
}

async function login(umsUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${umsUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token)
    throw new Error(`login of ${username} failed: ${res.status}`);
  return body.access_token;
}

/**
 * What the payload checks compare with: the lab's seeded ids oldest first
 * (seed row i is the i-th), and the exact page of each list scenario, read
 * from the database directly (the same order as LHCMS's lists).
 */
async function loadExpectations(
  db: BenchDatabase,
  fx: Fixtures,
  cfg: BenchConfig,
  queueDepth: number,
  notes: string[],
): Promise<Expectations> {
  const seeded = await query<{ id: number }>(
    db.adminDbUrl,
    'SELECT id FROM cases WHERE lab_id = $1 AND created_by = $2 ORDER BY created_at, id',
    [fx.labId, SEED_CREATED_BY],
  );
  const live = 'lab_id = $1 AND deleted_at IS NULL';
  const page = async (where: string, order: string, offset: number, params: unknown[] = []) =>
    (
      await query<{ id: number }>(
        db.adminDbUrl,
        `SELECT id FROM cases WHERE ${live}${where} ORDER BY ${order} OFFSET ${offset} LIMIT ${cfg.perPage}`,
        [fx.labId, ...params],
      )
    ).map((r) => r.id);
  const newest = 'created_at DESC, id DESC';
  const queue = ' AND due_date <= $2::date';
  const lists: Partial<Record<ListKind, number[]>> = {
    list_page1: await page('', newest, 0),
    list_offset_deep: await page('', newest, cfg.deepOffset),
    list_cursor_deep: await page('', newest, cfg.deepOffset),
    queue_due: await page(queue, 'due_date, id', 0, [fx.queueDueTo]),
    queue_due_cursor: await page(queue, 'due_date, id', queueDepth, [fx.queueDueTo]),
  };
  // The seed's plaintext is known when the SQL seed wrote the rows (deterministic); the API seed's
  // bodies come from concurrent workers, so there only "plaintext, present" is checked.
  const known = cfg.seedMode === 'sql' && seeded.length === cfg.labSizes[0];
  if (!known)
    notes.push(
      `payload checks: the seed's plaintext is not known (seed ${cfg.seedMode}, ${seeded.length} seeded cases for ${cfg.labSizes[0]}): PHI is checked to be present and not ciphertext, not compared with the seed`,
    );
  return new Expectations(
    fx.labId,
    seeded.map((r) => r.id),
    cfg.labSizes[0],
    lists,
    known,
  );
}

async function loadFixtures(
  db: BenchDatabase,
  labId: string,
  tokens: string[],
  cfg: BenchConfig,
): Promise<Fixtures & { queueDepth: number }> {
  const ids = await query<{ id: number }>(
    db.adminDbUrl,
    'SELECT id FROM cases WHERE lab_id = $1 AND deleted_at IS NULL ORDER BY random() LIMIT 5000',
    [labId],
  );
  const maxConc = Math.max(...cfg.concurrencies);
  const pool = await query<{ id: number }>(
    db.adminDbUrl,
    'SELECT id FROM cases WHERE lab_id = $1 AND deleted_at IS NULL AND status = $2 ORDER BY random() LIMIT $3',
    [labId, cfg.statusCycle[0], maxConc * 16],
  );
  let deepCursor = '';
  if (cfg.deepOffset > 0) {
    const [row] = await query<{ created_at: string; id: number }>(
      db.adminDbUrl,
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, id
         FROM cases WHERE lab_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [labId, cfg.deepOffset - 1],
    );
    if (!row) throw new Error(`lab ${labId} has fewer than ${cfg.deepOffset} cases`);
    deepCursor = encodeCursor({ createdAt: row.created_at, id: row.id });
  }
  // The due-date queue: cases due up to the lab's median due date, earliest
  // first; its cursor page as deep as the deep pages (or mid-queue if shorter).
  const [median] = await query<{ due: string; n: number }>(
    db.adminDbUrl,
    `SELECT (percentile_disc(0.5) WITHIN GROUP (ORDER BY due_date))::text AS due,
            count(*) FILTER (WHERE due_date IS NOT NULL)::int AS n
       FROM cases WHERE lab_id = $1 AND deleted_at IS NULL`,
    [labId],
  );
  if (!median?.due) throw new Error(`lab ${labId} has no case with a due date`);
  const queueDueTo = median.due;
  const [queued] = await query<{ n: number }>(
    db.adminDbUrl,
    'SELECT count(*)::int AS n FROM cases WHERE lab_id = $1 AND deleted_at IS NULL AND due_date <= $2::date',
    [labId, queueDueTo],
  );
  const depth = Math.max(1, Math.min(cfg.deepOffset, Math.floor(queued.n / 2)));
  const [qrow] = await query<{ due: string; id: number }>(
    db.adminDbUrl,
    `SELECT due_date::text AS due, id FROM cases
      WHERE lab_id = $1 AND deleted_at IS NULL AND due_date <= $2::date
      ORDER BY due_date, id OFFSET $3 LIMIT 1`,
    [labId, queueDueTo, depth - 1],
  );
  const sort = { field: 'due_date', desc: false } as const;
  const queueCursor = encodeQueueCursor({
    sort,
    filters: cursorFingerprint({ due_to: queueDueTo }),
    key: qrow.due,
    id: qrow.id,
  });
  return {
    labId,
    tokens,
    ids: ids.map((r) => r.id),
    statusPool: pool.map((r) => r.id),
    deepCursor,
    queueDueTo,
    queueCursor,
    createBodies: createBodies(500),
    queueDepth: depth,
  };
}

/** Before any load: the list pages answer 200 with the right size, and the cursor lands where the offset page does. */
async function sanityCheck(
  server: Server,
  fx: Fixtures,
  cfg: BenchConfig,
  auth: boolean,
  ex: Expectations,
): Promise<string[]> {
  const h: Record<string, string> = { 'x-lab-id': fx.labId };
  if (auth) h.authorization = `Bearer ${fx.tokens[0]}`;
  const notes: string[] = [];
  const arm: ServerKind = auth ? 'lhcms' : 'baseline';
  // The payload checks of the load, once before it (a wrong payload stops the run here).
  const payload = (spec: RequestSpec, text: string) => {
    const p = checkResponse(arm, spec.kind, spec, text, ex);
    if (p?.length) throw new PayloadFailure(`${server.name} before the load: ${p.join('; ')}`);
  };
  const p1 = await fetchJson(`${server.url}${listPage1Path(cfg.perPage)}`, h);
  if (p1.status !== 200 || p1.body?.cases?.length !== cfg.perPage)
    throw new Error(`${server.name}: list page 1 answered ${p1.status}`);
  payload({ method: 'GET', path: listPage1Path(cfg.perPage), kind: 'list_page1' }, p1.text);
  const g = await fetchJson(`${server.url}/api/v1/cases/${fx.ids[0]}`, h);
  if (g.status !== 200) throw new Error(`${server.name}: get answered ${g.status}`);
  payload({ method: 'GET', path: '', id: fx.ids[0], kind: 'get' }, g.text);
  if (cfg.deepOffset > 0) {
    const off = await fetchJson(`${server.url}${listOffsetPath(cfg.deepOffset, cfg.perPage)}`, h);
    const cur = await fetchJson(`${server.url}${listCursorPath(fx.deepCursor, cfg.perPage)}`, h);
    const a = off.body?.cases?.[0]?.id;
    const b = cur.body?.cases?.[0]?.id;
    if (off.status !== 200 || cur.status !== 200)
      throw new Error(
        `${server.name}: deep list answered ${off.status} (offset) / ${cur.status} (cursor)`,
      );
    if (a !== b)
      notes.push(
        `${server.name}: the deep cursor page starts at case ${b}, the offset page at ${a}`,
      );
  }
  const q1 = await fetchJson(`${server.url}${queueDuePath(fx.queueDueTo, cfg.perPage)}`, h);
  const qc = await fetchJson(
    `${server.url}${queueDueCursorPath(fx.queueDueTo, fx.queueCursor, cfg.perPage)}`,
    h,
  );
  if (q1.status !== 200 || qc.status !== 200 || !qc.body?.cases?.length)
    throw new Error(
      `${server.name}: the due-date queue answered ${q1.status} (page 1) / ${qc.status} (cursor) ${JSON.stringify(qc.body).slice(0, 300)}`,
    );
  return notes;
}

/** A wrong payload: the run measured the wrong thing and fails (exit 1) with this message. */
class PayloadFailure extends Error {}

/** Fails the run when a point's sampled answers carried a wrong payload. */
function assertPayload(p: PointResult): void {
  if (p.checks?.failed)
    throw new PayloadFailure(
      `${p.server} ${p.scenario} c=${p.connections}: ${p.checks.failed} of ${p.checks.checked} sampled answers carried a wrong payload: ${p.checks.problems.join('; ')}`,
    );
}

/**
 * Audit completeness after the interleaved comparison: one `read` row per
 * successful get and one `search` row per successful list, in the lab, since
 * `afterSeq`. A read's row commits before its answer leaves (group commit), so
 * the count is final at once; it is polled until stable anyway. Requests still
 * in flight when a slice stopped were audited but never counted as answered:
 * the rows must lie between the 2xx answers and the requests sent.
 */
async function auditCompleteness(
  adminDbUrl: string,
  labId: string,
  afterSeq: string,
  counts: Record<string, ArmCounts>,
  log: (line: string) => void,
): Promise<AuditCheck> {
  const read = async () => {
    const rows = await query<{ interaction: string; n: number }>(
      adminDbUrl,
      `SELECT interaction, count(*)::int AS n FROM audit_events
        WHERE seq > $1::bigint AND lab_id = $2 AND outcome = 'success' AND interaction IN ('read', 'search')
        GROUP BY interaction`,
      [afterSeq, labId],
    );
    return Object.fromEntries(rows.map((r) => [r.interaction, r.n])) as Record<string, number>;
  };
  let last = await read();
  const until = Date.now() + 30_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await read();
    if (JSON.stringify(now) === JSON.stringify(last) || Date.now() > until) {
      last = now;
      break;
    }
    last = now;
  }
  const check = auditVerdict(last, counts);
  log(`audit completeness: ${check.detail} — ${check.ok ? 'ok' : 'FAILED'}`);
  return check;
}

function lhcmsLine(p: PointResult): string {
  const other = p.cpu.other !== undefined ? `, other load ${p.cpu.other.toFixed(0)} %` : '';
  const checked = p.checks ? `, payload checked ${p.checks.checked}` : '';
  return `${p.server} ${p.scenario} c=${p.connections}: ${fmtRps(p.rps)} req/s, p50 ${fmtMs(p.latencyMs.p50)} ms, p99 ${fmtMs(p.latencyMs.p99)} ms, errors ${p.errors}${p.errors ? ' (FLAGGED)' : ''}${checked}, RSS peak ${p.rssPeakMB.toFixed(0)} MB, server CPU ${p.serverCpuMsPerReq.toFixed(2)} ms/req${other}`;
}

function withPort(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

async function main(): Promise<void> {
  let cfg: BenchConfig | 'help';
  try {
    cfg = parseConfig(process.argv.slice(2), process.env, PROJECT_ROOT);
  } catch (err) {
    if (
      err instanceof ConfigError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (cfg === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  for (const f of [LHCMS_MAIN, BASELINE_MAIN])
    if (!fs.existsSync(f))
      throw new Error(
        `${path.relative(PROJECT_ROOT, f)} is missing: run \`npm run build\` (npm run bench does)`,
      );

  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${cfg.watchdogSeconds} s, stopping everything`);
    killAllChildren();
    process.exit(3);
  }, cfg.watchdogSeconds * 1000);

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const runDir = path.join(cfg.outDir, stamp);
  fs.mkdirSync(runDir, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-bench-'));
  const notes: string[] = [];

  const machine = machineInfo();
  log(
    `machine: ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, load average ${machine.loadAvgAtStart.map((v) => v.toFixed(2)).join(' ')}`,
  );
  machine.backgroundBusyPct = await sampleBackgroundBusy(
    Math.min(2000, cfg.duration * 1000),
    machine.cores,
  );
  if (machine.backgroundBusyPct !== undefined)
    log(
      `machine CPU busy before the run (other engineers' load): ${machine.backgroundBusyPct.toFixed(0)} % of ${machine.cores * 100} %`,
    );
  const connections = () =>
    query<{ v: string; max: number; reserved: number; used: number }>(
      cfg.adminUrl,
      `SELECT split_part(version(), ' ', 1) || ' ' || split_part(version(), ' ', 2) AS v,
              current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
    ).then((r) => r[0]);
  const pgv = await connections();
  machine.postgres = pgv.v;
  if (cfg.redisUrl) machine.redis = await redisVersion(cfg.redisUrl);
  // Both servers run at once in the comparison: both pools must fit in max_connections together.
  // The cluster is shared: when others hold too many connections, wait up to a minute for them.
  const envInt = (k: string) =>
    cfg.serverEnv[k] === undefined ? undefined : Number(cfg.serverEnv[k]);
  const minPool = Math.min(
    MIN_POOL,
    Math.max(...cfg.concurrencies, ...cfg.interleaveConcurrencies),
  );
  let pools: PoolPlan | undefined;
  const poolsBy = Date.now() + 60_000;
  for (let pg = pgv; ; pg = await connections()) {
    try {
      pools = planPools({
        maxConnections: pg.max,
        reserved: pg.reserved,
        used: pg.used,
        poolSize: envInt('DB_POOL_SIZE'),
        maxOverflow: envInt('DB_MAX_OVERFLOW'),
        minPool,
      });
      break;
    } catch (err) {
      if (!(err instanceof PoolError)) throw err;
      const explicit = cfg.serverEnv.DB_POOL_SIZE ?? cfg.serverEnv.DB_MAX_OVERFLOW;
      if (explicit !== undefined || Date.now() > poolsBy) {
        process.stderr.write(`[bench] ${err.message}\n`);
        process.exit(2);
      }
      log(`${err.message} — waiting for other users' connections to close`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  log(pools.explain);
  cfg.serverEnv.DB_POOL_SIZE = String(pools.poolSize);
  cfg.serverEnv.DB_MAX_OVERFLOW = String(pools.maxOverflow);
  const poolMax = pools.perServer;
  notes.push(pools.explain);

  // ---- UMS seed, database, ums-dev -----------------------------------------------------
  const password = randomBytes(12).toString('base64url');
  const { seed, users, labIds } = await benchUmsSeed(
    cfg.labSizes.length,
    cfg.usersPerLab,
    cfg.labIdBase,
    password,
  );
  const db = await prepareDatabase(
    {
      adminUrl: cfg.adminUrl,
      name: cfg.dbName,
      labIds,
      sizes: cfg.labSizes,
      reuse: cfg.reuseDb,
      seedMode: cfg.seedMode,
    },
    log,
  );
  const jwtSecret = randomBytes(32).toString('base64url');
  const ums: UmsDevServer = await startUmsDev(
    {
      seed,
      secret: jwtSecret,
      accessTtlSeconds: 6 * 3600,
      refreshTtlSeconds: 6 * 3600,
      shape: 'A+B',
    },
    { port: 0 },
  );
  const tokensByLab = new Map<string, string[]>();
  for (const u of users) {
    const t = await login(ums.url, u.username, password);
    tokensByLab.set(u.labId, [...(tokensByLab.get(u.labId) ?? []), t]);
  }
  log(`ums-dev on ${ums.url}: ${users.length} users logged in (${cfg.usersPerLab} per lab)`);

  const env: LhcmsEnv = {
    databaseUrl: db.appUrl,
    ownerUrl: db.ownerUrl,
    redisUrl: cfg.redisUrl,
    umsUrl: ums.url,
    secretKey: BENCH_SECRET_KEY,
    jwtSecret,
    logLevel: cfg.logLevel,
    extra: cfg.serverEnv,
  };
  const labId = labIds[0];
  const labTokens = tokensByLab.get(labId) ?? [];

  // ---- main measurement ---------------------------------------------------------------
  const lhcmsLog = path.join(scratch, 'lhcms.log');
  let lhcms = await startLhcms({ env, logFile: lhcmsLog, cwd: scratch });
  log(`LHCMS (production) ready in ${(lhcms.readyMs / 1000).toFixed(2)} s on ${lhcms.url}`);
  if (!db.seeded) {
    await seedViaApi(
      lhcms.url,
      labIds.map((id, i) => ({ labId: id, token: tokensByLab.get(id)![0], size: cfg.labSizes[i] })),
      log,
    );
    await finishApiSeed(db.adminDbUrl, labIds);
    await lhcms.stop();
    lhcms = await startLhcms({ env, logFile: lhcmsLog, cwd: scratch });
  }
  await new Promise((r) => setTimeout(r, 1000));
  const idleRssMB = (processRss(lhcms.pid) ?? 0) / 2 ** 20;
  const { queueDepth, ...fx } = await loadFixtures(db, labId, labTokens, cfg);
  const expectations = await loadExpectations(db, fx, cfg, queueDepth, notes);
  if (fx.statusPool.length < Math.max(...cfg.concurrencies))
    notes.push(
      `only ${fx.statusPool.length} '${cfg.statusCycle[0]}' cases for the status scenario: some connections share cases`,
    );
  notes.push(...(await sanityCheck(lhcms, fx, cfg, true, expectations)));

  const interleaveScenarios = (['get', 'list_page1'] as const).filter(
    (s) => cfg.scenarios.includes(s) && cfg.baseline && cfg.interleaveConcurrencies.length > 0,
  );
  let baseline: Server | undefined;
  if (cfg.baseline && READ_SCENARIOS.some((s) => cfg.scenarios.includes(s))) {
    baseline = await startBaseline({
      databaseUrl: db.adminDbUrl,
      poolMax,
      logFile: path.join(scratch, 'baseline.log'),
      cwd: scratch,
    });
    notes.push(...(await sanityCheck(baseline, fx, cfg, false, expectations)));
    log(`raw baseline ready on ${baseline.url} (pool max ${poolMax}, as LHCMS)`);
  }

  const book = new StatusBook(cfg.statusCycle);
  const ctx = (auth: boolean): ScenarioContext => ({ cfg, fx, book, connections: 1, auth });
  const admin = new Client({ connectionString: cfg.adminUrl });
  await admin.connect();
  const sampler = (arm: ServerKind, scenario: ScenarioName) =>
    new PayloadSampler(arm, scenario, expectations, cfg.checkEvery);
  const points: PointResult[] = [];
  const point = async (
    server: Server,
    kind: 'lhcms' | 'baseline',
    scenario: ScenarioName,
    c: number,
  ) => {
    const p = await runPoint({
      url: server.url,
      server: kind,
      serverPid: server.pid,
      scenario,
      connections: c,
      duration: cfg.duration,
      warmup: cfg.warmup,
      ctx: ctx(kind === 'lhcms'),
      admin,
      dbName: db.name,
      timeoutSeconds: cfg.timeout,
      poolMax,
      sampler: sampler(kind, scenario),
    });
    points.push(p);
    log(lhcmsLine(p));
    assertPayload(p);
  };

  // ---- the main comparison: get and list page 1, interleaved ---------------------------
  const interleaved: InterleavedResult[] = [];
  let audit: AuditCheck | undefined;
  let interleavedReport: InterleavedReport | undefined;
  if (baseline && interleaveScenarios.length) {
    const ivStarted = new Date();
    const la0 = os.loadavg();
    const b = baseline;
    const combos = interleaveScenarios.length * cfg.interleaveConcurrencies.length;
    log(
      `main comparison, interleaved: ${interleaveScenarios.join(', ')} at c=${cfg.interleaveConcurrencies.join(',')}; ${cfg.rounds} rounds of ${cfg.sliceSeconds} s slices per arm after ${cfg.warmup} s warm-up each: about ${Math.ceil((combos * (2 * cfg.warmup + 2 * cfg.rounds * (cfg.sliceSeconds + 0.5))) / 60)} min`,
    );
    const [s0] = await query<{ seq: string }>(
      db.adminDbUrl,
      'SELECT coalesce(max(seq), 0)::text AS seq FROM audit_events',
    );
    const lhcmsCounts: Record<string, ArmCounts> = {};
    for (const s of interleaveScenarios)
      for (const c of cfg.interleaveConcurrencies) {
        const { result, lhcmsCounts: n } = await runInterleaved({
          servers: { lhcms, baseline: b },
          scenario: s,
          connections: c,
          sliceSeconds: cfg.sliceSeconds,
          rounds: cfg.rounds,
          warmup: cfg.warmup,
          ctx: (arm) => ctx(arm === 'lhcms'),
          sampler: (arm) => sampler(arm, s),
          admin,
          dbName: db.name,
          timeoutSeconds: cfg.timeout,
          log,
        });
        const k = s === 'get' ? 'read' : 'search';
        lhcmsCounts[k] = {
          sent: (lhcmsCounts[k]?.sent ?? 0) + n.sent,
          ok2xx: (lhcmsCounts[k]?.ok2xx ?? 0) + n.ok2xx,
        };
        interleaved.push(result);
        points.push(result.baseline, result.lhcms);
        log(
          `${s} c=${c} interleaved: LHCMS ${fmtRps(result.lhcms.rps)} vs baseline ${fmtRps(result.baseline.rps)} req/s = ${(result.ratio * 100).toFixed(0)} %; LHCMS p50 ${fmtMs(result.lhcms.latencyMs.p50)} / p99 ${fmtMs(result.lhcms.latencyMs.p99)} ms (p99/p50 ${result.lhcmsTail.toFixed(1)}); errors ${result.lhcms.errors} / ${result.baseline.errors}; payload checked ${result.lhcms.checks?.checked ?? 0} / ${result.baseline.checks?.checked ?? 0}`,
        );
        assertPayload(result.lhcms);
        assertPayload(result.baseline);
      }
    const ivFinished = new Date();
    const la1 = os.loadavg();
    audit = await auditCompleteness(db.adminDbUrl, labId, s0.seq, lhcmsCounts, log);
    interleavedReport = {
      sliceSeconds: cfg.sliceSeconds,
      rounds: cfg.rounds,
      warmup: cfg.warmup,
      checkEvery: cfg.checkEvery,
      startedAt: ivStarted.toISOString(),
      finishedAt: ivFinished.toISOString(),
      loadAvg: { start: la0, end: la1 },
      results: interleaved,
      audit,
    };
  }

  const reads = READ_SCENARIOS.filter(
    (s) => cfg.scenarios.includes(s) && !(interleaveScenarios as readonly string[]).includes(s),
  );
  const writes = LHCMS_ONLY_SCENARIOS.filter((s) => cfg.scenarios.includes(s));
  const total = (reads.length * (baseline ? 2 : 1) + writes.length) * cfg.concurrencies.length;
  if (total)
    log(
      `${total} points of ${cfg.warmup} + ${cfg.duration} s: about ${Math.ceil((total * (cfg.warmup + cfg.duration + 1)) / 60)} min`,
    );
  for (const s of reads)
    for (const c of cfg.concurrencies) {
      if (baseline) await point(baseline, 'baseline', s, c);
      await point(lhcms, 'lhcms', s, c);
    }
  await baseline?.stop();
  for (const s of writes) for (const c of cfg.concurrencies) await point(lhcms, 'lhcms', s, c);
  await lhcms.stop();
  const logMB = fs.existsSync(lhcmsLog) ? fs.statSync(lhcmsLog).size / 2 ** 20 : undefined;

  // ---- attachments (issue #20) -------------------------------------------------------------
  let attachments: AttachmentsReport | undefined;
  if (cfg.attachments)
    attachments = await runAttachments({
      att: cfg.attachments,
      env,
      scratch,
      fx,
      adminDbUrl: db.adminDbUrl,
      admin,
      dbName: db.name,
      concurrencies: cfg.concurrencies,
      duration: cfg.duration,
      warmup: cfg.warmup,
      timeout: cfg.timeout,
      poolMax,
      ctx: () => ctx(true),
      log,
    });
  await admin.end();

  // ---- round trips per request ----------------------------------------------------------
  const roundTrips: RoundTrip[] = [];
  if (cfg.roundTrips && cfg.scenarios.length) {
    const pgu = new URL(cfg.adminUrl);
    const pgProxy = await pgCountingProxy(pgu.hostname, Number(pgu.port || 5432));
    const ru = cfg.redisUrl ? new URL(cfg.redisUrl) : undefined;
    const redisProxy = ru
      ? await redisCountingProxy(ru.hostname, Number(ru.port || 6379))
      : undefined;
    const counted: LhcmsEnv = {
      ...env,
      databaseUrl: withPort(db.appUrl, '127.0.0.1', pgProxy.port),
      ownerUrl: withPort(db.ownerUrl, '127.0.0.1', pgProxy.port),
      redisUrl:
        cfg.redisUrl && redisProxy
          ? withPort(cfg.redisUrl, '127.0.0.1', redisProxy.port)
          : undefined,
    };
    const measure = async (
      server: Server,
      kind: 'lhcms' | 'baseline',
      scenarios: ScenarioName[],
    ) => {
      const n = cfg.roundTripRequests;
      for (const s of scenarios) {
        if (s === 'mixed') continue;
        await runCount(server.url, s, Math.min(3, n), ctx(kind === 'lhcms'));
        const pg0 = pgProxy.snapshot();
        const r0 = redisProxy?.snapshot() ?? new Map<string, number>();
        const statements: string[] = [];
        pgProxy.capture(statements);
        const statuses = await runCount(server.url, s, 1, ctx(kind === 'lhcms'));
        pgProxy.capture(undefined);
        statuses.push(...(await runCount(server.url, s, n - 1, ctx(kind === 'lhcms'))));
        const pgd = diffCounts(pg0, pgProxy.snapshot());
        const rd = diffMaps(r0, redisProxy?.snapshot() ?? new Map<string, number>());
        const byCmd: Record<string, number> = {};
        for (const [k, v] of Object.entries(rd)) byCmd[k] = v / n;
        const st: Record<string, number> = {};
        for (const code of statuses) st[code] = (st[code] ?? 0) + 1;
        roundTrips.push({
          server: kind,
          scenario: s,
          requests: n,
          pgRoundTrips: pgRoundTrips(pgd) / n,
          pgStatements: (pgd.simple + pgd.binds) / n,
          redisCommands: Object.values(rd).reduce((a, b) => a + b, 0) / n,
          redisByCommand: byCmd,
          statements: statements.map((x) => {
            const one = x.replace(/\s+/g, ' ').trim();
            return one.length > 90 ? `${one.slice(0, 87)}...` : one;
          }),
          statuses: st,
        });
        const last = roundTrips[roundTrips.length - 1];
        log(
          `round trips: ${kind} ${s}: ${last.pgRoundTrips.toFixed(1)} PostgreSQL, ${last.redisCommands.toFixed(1)} Redis per request`,
        );
      }
    };
    const counting = await startLhcms({
      env: counted,
      logFile: path.join(scratch, 'lhcms-counted.log'),
      cwd: scratch,
      name: 'LHCMS (counted)',
    });
    await measure(counting, 'lhcms', cfg.scenarios);
    await counting.stop();
    if (cfg.baseline) {
      const b = await startBaseline({
        databaseUrl: withPort(db.adminDbUrl, '127.0.0.1', pgProxy.port),
        poolMax,
        logFile: path.join(scratch, 'baseline-counted.log'),
        cwd: scratch,
      });
      await measure(
        b,
        'baseline',
        READ_SCENARIOS.filter((s) => cfg.scenarios.includes(s)),
      );
      await b.stop();
    }
    await pgProxy.close();
    await redisProxy?.close();
  }

  // ---- CPU profiles ---------------------------------------------------------------------
  const profiles: ProfileRun[] = [];
  if (cfg.profile) {
    const profDir = path.join(runDir, 'profiles');
    fs.mkdirSync(profDir, { recursive: true });
    for (const s of (['get', 'list_page1'] as const).filter((x) => cfg.scenarios.includes(x))) {
      const name = `${s}-c${cfg.profileConcurrency}.cpuprofile`;
      const server = await startLhcms({
        env,
        logFile: path.join(scratch, `lhcms-profile-${s}.log`),
        cwd: scratch,
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}`],
        name: `LHCMS (--cpu-prof, ${s})`,
      });
      // Warm up (JIT, principal cache, pool), then profile only the measured window.
      const fromUs = Number(process.hrtime.bigint() / 1000n) + cfg.warmup * 1e6;
      const p = await runPoint({
        url: server.url,
        server: 'lhcms',
        serverPid: server.pid,
        scenario: s,
        connections: cfg.profileConcurrency,
        duration: cfg.profileDuration,
        warmup: cfg.warmup,
        ctx: ctx(true),
        dbName: db.name,
      });
      const toUs = Number(process.hrtime.bigint() / 1000n);
      await server.stop();
      const file = path.join(profDir, name);
      if (!fs.existsSync(file)) {
        notes.push(`no profile written for ${s} (${file})`);
        continue;
      }
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
      let prof = trimProfile(raw, fromUs, toUs);
      if (!prof) {
        notes.push(
          `profile of ${s}: the load window did not match the profile clock; the whole server life was summarised`,
        );
        prof = raw;
      }
      const summary = summariseProfile(prof, p.requests);
      profiles.push({
        scenario: s,
        connections: cfg.profileConcurrency,
        seconds: p.seconds,
        requests: p.requests,
        rps: p.rps,
        file: path.relative(PROJECT_ROOT, file),
        summary,
      });
      log(
        `profiled ${s} at c=${cfg.profileConcurrency}: ${summary.busyUsPerRequest?.toFixed(0)} µs CPU/request; top: ${summary.layers
          .slice(0, 4)
          .map((l) => `${l.layer} ${l.pct.toFixed(0)} %`)
          .join(', ')}`,
      );
    }
  }

  // ---- start to /health ---------------------------------------------------------------------
  const startup: StartupTrial[] = [];
  if (cfg.startup) {
    for (let i = 0; i < cfg.startupTrials; i++) {
      const s = await startLhcms({
        env,
        logFile: path.join(scratch, 'lhcms-startup.log'),
        cwd: scratch,
        name: 'LHCMS (startup)',
      });
      startup.push({
        kind: 'node',
        command: 'NODE_ENV=production node dist/apps/api/src/main.js',
        healthMs: s.readyMs,
      });
      await s.stop();
    }
    const npmCli = process.env.npm_execpath;
    for (let i = 0; i < cfg.npmStartTrials; i++) {
      const port = await freePort();
      const s = await startServer({
        name: 'npm start',
        command: npmCli ? process.execPath : 'npm',
        args: npmCli ? [npmCli, 'start', '--silent'] : ['start', '--silent'],
        env: { ...lhcmsEnv(env, port), PATH: process.env.PATH ?? baseEnv({}).PATH },
        port,
        healthPath: '/health',
        logFile: path.join(scratch, 'npm-start.log'),
        cwd: PROJECT_ROOT,
      });
      startup.push({
        kind: 'npm-start',
        command: 'NODE_ENV=production npm start (prestart: npm run build)',
        healthMs: s.readyMs,
      });
      await s.stop();
    }
    if (fs.existsSync(path.join(PROJECT_ROOT, '.env')))
      notes.push(
        'a .env exists in the project root: `npm start` loads it (the node trials run from a scratch folder)',
      );
    log(
      `start to /health 200: ${startup.map((s) => `${(s.healthMs / 1000).toFixed(2)} s`).join(', ')}`,
    );
  }

  await ums.close();
  if (cfg.dropDb) {
    const { dropDatabase } = await import('@lhcms/database');
    await dropDatabase(cfg.adminUrl, db.name);
  }

  // ---- report -----------------------------------------------------------------------------
  const report: BenchReport = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    label: cfg.label,
    git: {
      commit: git(['rev-parse', 'HEAD']),
      branch: git(['rev-parse', '--abbrev-ref', 'HEAD']),
      dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    },
    machine,
    config: {
      duration: cfg.duration,
      warmup: cfg.warmup,
      timeout: cfg.timeout,
      concurrencies: cfg.concurrencies,
      scenarios: cfg.scenarios,
      attachments: cfg.attachments,
      deepOffset: cfg.deepOffset,
      perPage: cfg.perPage,
      usersPerLab: cfg.usersPerLab,
      redis: cfg.redisUrl ? 'redis' : 'memory',
      logLevel: cfg.logLevel,
      serverEnv: cfg.serverEnv,
      statusCycle: cfg.statusCycle,
      mix: cfg.mix,
      profileConcurrency: cfg.profileConcurrency,
      profileDuration: cfg.profileDuration,
      dbPoolMax: poolMax,
      dbPools: pools,
      interleaveConcurrencies: cfg.interleaveConcurrencies,
      sliceSeconds: cfg.sliceSeconds,
      rounds: cfg.rounds,
      checkEvery: cfg.checkEvery,
    },
    database: {
      name: db.name,
      labIds,
      labSizes: cfg.labSizes,
      seedMode: cfg.seedMode,
      seedSeconds: db.seedSeconds,
      reused: db.reused,
    },
    lhcms: { readyMs: lhcms.readyMs, idleRssMB, logMB },
    points,
    roundTrips,
    profiles,
    startup,
    attachments,
    interleaved: interleavedReport,
    notes,
  };
  if (logMB !== undefined)
    notes.push(
      `LHCMS wrote ${logMB.toFixed(0)} MB of request logs (pino, LOG_LEVEL=${cfg.logLevel}) during the main measurement`,
    );
  const md = renderMarkdown(report);
  fs.writeFileSync(path.join(runDir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(path.join(runDir, 'bench.md'), md);
  fs.copyFileSync(path.join(runDir, 'bench.json'), path.join(cfg.outDir, 'latest.json'));
  fs.copyFileSync(path.join(runDir, 'bench.md'), path.join(cfg.outDir, 'latest.md'));
  fs.rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`\n${md}\n`);
  for (const t of checkTargets(report)) log(`target ${t.verdict}: ${t.target} — ${t.measured}`);
  for (const t of interleavedTargets(interleaved))
    log(`target ${t.verdict}: ${t.target} — ${t.measured}`);
  const checked = points.reduce((a, p) => a + (p.checks?.checked ?? 0), 0);
  log(
    `payload checks: ${checked} sampled answers compared with the seed, none wrong (a wrong one stops the run)`,
  );
  if (attachments)
    for (const t of attachmentTargets(attachments))
      log(`target ${t.verdict}: ${t.target} — ${t.measured}`);
  log(
    `results: ${path.relative(PROJECT_ROOT, runDir)}/bench.{md,json} (also ${path.relative(PROJECT_ROOT, cfg.outDir)}/latest.*)`,
  );
  clearTimeout(watchdog);
  if (audit && !audit.ok)
    throw new Error(`audit completeness FAILED: ${audit.detail} (the report was written)`);
  if (attachments && (attachments.error || attachments.checks.some((c) => !c.ok)))
    throw new Error(
      `the attachments scenario failed: ${attachments.error ?? ''} ${attachments.checks
        .filter((c) => !c.ok)
        .map((c) => `${c.name}: ${c.detail}`)
        .join('; ')}`,
    );
}

process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAllChildren();
    process.exit(130);
  });

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      err instanceof PayloadFailure
        ? `[bench] FAILED, wrong payload (the run measured the wrong thing): ${err.message}\n`
        : `[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    killAllChildren();
    process.exit(1);
  },
);
