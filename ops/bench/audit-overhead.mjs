// Audit overhead benchmark: `npm run bench:audit`.
//
// Starts the API (the real server process) twice against one seeded database,
// with HIPAA_AUDIT_ENABLED=false and =true, both running for the whole
// benchmark, and drives list and get with autocannon over loopback, switching
// the load between the two every few seconds (off/on, on/off, …); prints the
// throughput of each arm and what auditing costs, also as machine CPU time per
// request (/proc/stat, steal excluded). Everything runs on 127.0.0.1 and stops
// by itself.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default the local
// PostgreSQL at 127.0.0.1:5432), BENCH_SECONDS (one slice, default 4),
// BENCH_ROUNDS (off/on pairs of slices per endpoint, default 8), BENCH_WARMUP
// (seconds per server and endpoint before the pairs, default 5),
// BENCH_CONNECTIONS (default 50), BENCH_CASES (seeded cases, default 2000),
// BENCH_SCENARIOS (default `list,get`), BENCH_PROFILE_DIR (write a V8 CPU
// profile of each API there), BENCH_CONTROL=1 (A/A: auditing on in both arms,
// to see the method's noise on this machine), BENCH_BASE_ROOT (a version A/B instead:
// the first arm runs the API built in that checkout — `npm ci && npm run build` there —
// the second this tree's (or BENCH_THIS_ROOT's), both auditing; the "cost" is what the
// second version costs over the first. The database is migrated by this tree: an older
// build must read a newer schema, which additive migrations allow), BENCH_OUTBOX=1 (the
// case outbox's write cost instead, issue 17: both servers are this build and audit; the
// outbox trigger on case_events is disabled for the "no outbox" slices and enabled for the
// "outbox" slices; scenarios `create,status` at 64 connections by default; each slice is
// checked to have written outbox events exactly when the trigger was on).
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { PRODUCTION_NODE_OPTIONS, startApiProcess } from './api-process.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const ROOT = resolve(import.meta.dirname, '../..');
const { loadEnv } = require(join(ROOT, 'dist/libs/config/src/index.js'));
const db = require(join(ROOT, 'dist/libs/database/src/index.js'));
const umsDev = require(join(ROOT, 'dist/apps/ums-dev/src/index.js'));
const { machineCpuMs, processCpuMs } = require(join(ROOT, 'dist/ops/bench/machine.js'));
const { createBodies } = require(join(ROOT, 'dist/ops/bench/scenarios.js'));
// The bench roles and their one password (shared with `npm run bench`).
const bench = require(join(ROOT, 'dist/ops/bench/seed-db.js'));

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const CONNECTIONS = Number(
  process.env.BENCH_CONNECTIONS ?? (process.env.BENCH_OUTBOX === '1' ? 64 : 50),
);
const CASES = Number(process.env.BENCH_CASES ?? 2000);
const PAIRS = Number(process.env.BENCH_ROUNDS ?? 8);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const KEEP_LOGS = process.env.BENCH_KEEP_LOGS === '1';
// A/A control: both servers audit, so the cost columns show the method's own noise.
const CONTROL = process.env.BENCH_CONTROL === '1';
// Version A/B: the first arm is another checkout's build (auditing too).
const BASE_ROOT = process.env.BENCH_BASE_ROOT ? resolve(process.env.BENCH_BASE_ROOT) : undefined;
// …and the second arm another checkout's build too (two older versions against each other).
const THIS_ROOT = process.env.BENCH_THIS_ROOT ? resolve(process.env.BENCH_THIS_ROOT) : ROOT;
// The outbox's write cost: one build, the outbox trigger off/on between slices.
const OUTBOX = process.env.BENCH_OUTBOX === '1';
const ARM = BASE_ROOT
  ? { off: 'base', on: 'this' }
  : OUTBOX
    ? { off: 'no-outbox', on: 'outbox' }
    : { off: 'off', on: 'on' };
const SECRET = 'bench-jwt-secret-0123456789abcdef';
const out = (s) => process.stdout.write(`${s}\n`);

/**
 * CPU (user + system, ms) of the bench database's backends, by pid: the database's share
 * of a slice (other databases' work on a shared machine is not counted). A backend that
 * exits within a slice takes its last ticks with it (the pools keep theirs open).
 */
function backendCpuMs(pids) {
  const ms = new Map();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms.set(pid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      /* gone */
    }
  }
  return ms;
}

function startApi(env, auditOn, tmp, root = ROOT) {
  return startApiProcess({
    root,
    // BENCH_KEEP_LOGS=1: each API's log to <tmp>/api-<port>.log, kept after the run.
    stdout: (port) => (KEEP_LOGS ? openSync(join(tmp, `api-${port}.log`), 'w') : 'ignore'),
    env: (port) => ({
      ...(PROFILE_DIR && {
        NODE_OPTIONS: `${PRODUCTION_NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${PROFILE_DIR} --cpu-prof-name=audit-${auditOn ? 'on' : 'off'}-${port}.cpuprofile`,
      }),
      HIPAA_AUDIT_ENABLED: String(auditOn),
      AUDIT_LOG_DESTINATION: join(tmp, `audit-${port}.log`),
      AUDIT_CHECKPOINT_DIR: join(tmp, 'checkpoints'),
      ...env,
    }),
  });
}

function load(url, token, requests, duration) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    headers: { authorization: `Bearer ${token}` },
    requests,
  });
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'lhcms-bench-audit-'));
  const name = `lhcms_bench_audit_${Date.now().toString(36)}`;
  const provisioned = await db.provisionDatabase({
    adminUrl: ADMIN_URL,
    database: name,
    ownerRole: bench.BENCH_OWNER_ROLE,
    ownerPassword: bench.BENCH_ROLE_PASSWORD,
    appRole: bench.BENCH_APP_ROLE,
    appPassword: bench.BENCH_ROLE_PASSWORD,
  });
  let client;
  const ums = await umsDev.startUmsDev(
    {
      seed: umsDev.loadSeed(umsDev.DEFAULT_SEED_FILE),
      secret: SECRET,
      accessTtlSeconds: 3600,
      refreshTtlSeconds: 86400,
      shape: 'A+B',
    },
    { port: 0, host: '127.0.0.1' },
  );
  try {
    const env = {
      DATABASE_URL: provisioned.appUrl,
      DATABASE_OWNER_URL: provisioned.ownerUrl,
      UMS_BASE_URL: ums.url,
      JWT_SECRET_KEY: SECRET,
      SECRET_KEY: 'bench-secret-key-0123456789abcdef0123456789',
    };
    await db.runMigrations(loadEnv({ NODE_ENV: 'test', ...env }));
    const pg = await import('pg');
    client = new pg.default.Client({ connectionString: provisioned.ownerUrl });
    await client.connect();
    // Both servers hold connections at once: each gets half of what PostgreSQL has free
    // (less the audit trail's 3), so neither is refused a connection (53300) under load.
    const free = (
      await client.query(
        `SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity)::int AS n`,
      )
    ).rows[0].n;
    const perServer = Math.min(CONNECTIONS, 50, Math.floor((free - 10) / 2) - 3);
    if (perServer < Math.min(CONNECTIONS, 10))
      throw new Error(`PostgreSQL has only ${free} connections free`);
    // BENCH_DB_POOL_TIMEOUT: the servers' DB_POOL_TIMEOUT (seconds) when set.
    if (process.env.BENCH_DB_POOL_TIMEOUT) env.DB_POOL_TIMEOUT = process.env.BENCH_DB_POOL_TIMEOUT;
    env.DB_POOL_SIZE = String(Math.min(20, perServer));
    env.DB_MAX_OVERFLOW = String(perServer - Math.min(20, perServer));
    await client.query(
      `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, case_name, patient_info, created_at)
       SELECT '1', 'doc-' || (g % 50), 'prod-' || (g % 7), 'fixed_prosthetic', 'pending', 'Case ' || g,
              jsonb_build_object('patient_id', 'PT-' || g, 'age', 40), now() - g * interval '1 minute'
       FROM generate_series(1, $1) g`,
      [CASES],
    );
    // Statistics for the planner, as autovacuum would have them on a real database: without
    // them it guesses, and one guess (a lab's whole index scanned for a page's remakes) made
    // an A/B measure a plan, not the code.
    await client.query('VACUUM (ANALYZE)');
    const ids = (await client.query(`SELECT id FROM cases ORDER BY id`)).rows.map((r) => r.id);
    // Rows per group-commit batch (one INSERT transaction each) since the last call.
    let seenSeq = 0;
    const batching = async () => {
      const r = await client.query(
        `SELECT count(*)::int AS n, count(DISTINCT tx_id)::int AS tx, coalesce(max(seq), 0)::int AS last
         FROM audit_events WHERE seq > $1`,
        [seenSeq],
      );
      seenSeq = Math.max(seenSeq, r.rows[0].last);
      return r.rows[0].tx > 0 ? r.rows[0].n / r.rows[0].tx : 0;
    };
    const login = await fetch(`${ums.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin123' }),
    });
    const token = (await login.json()).access_token;

    let n = 0;
    // Writes: creates from the harness's valid bodies, and status changes that toggle each
    // seeded case between pending and on_hold (round robin over every case, so no two
    // in-flight requests touch one case).
    const bodies = createBodies(200);
    const statusOf = new Map(ids.map((id) => [id, 'pending']));
    let m = 0;
    // A request's own headers replace autocannon's defaults: the token goes in them too.
    const json = {
      'content-type': 'application/json',
      'x-lab-id': '1',
      authorization: `Bearer ${token}`,
    };
    const scenarios = {
      list: [{ method: 'GET', path: '/api/v1/cases/?per_page=20' }],
      get: [
        {
          method: 'GET',
          setupRequest: (req) => ({ ...req, path: `/api/v1/cases/${ids[n++ % ids.length]}` }),
        },
      ],
      create: [
        {
          method: 'POST',
          path: '/api/v1/cases/',
          headers: json,
          setupRequest: (req) => ({ ...req, body: bodies[m++ % bodies.length] }),
        },
      ],
      status: [
        {
          method: 'PATCH',
          headers: json,
          setupRequest: (req) => {
            const id = ids[m++ % ids.length];
            const to = statusOf.get(id) === 'pending' ? 'on_hold' : 'pending';
            statusOf.set(id, to);
            return {
              ...req,
              path: `/api/v1/cases/${id}/status`,
              body: JSON.stringify({ status: to, reason: 'bench: status toggle' }),
            };
          },
        },
      ],
    };
    const wanted = (process.env.BENCH_SCENARIOS ?? (OUTBOX ? 'create,status' : 'list,get')).split(
      ',',
    );
    // The outbox arms: the trigger's state for the next slice, and its events counted per slice.
    const setOutbox = async (mode) => {
      if (!OUTBOX) return;
      await client.query(
        `ALTER TABLE case_events ${mode === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER tr_case_events_outbox`,
      );
    };
    const outboxRows = async () =>
      OUTBOX ? (await client.query(`SELECT count(*)::int AS n FROM case_outbox`)).rows[0].n : 0;
    for (const s of Object.keys(scenarios)) if (!wanted.includes(s)) delete scenarios[s];
    out(
      `${OUTBOX ? 'outbox write cost' : 'audit overhead'}: ${CONNECTIONS} connections, ${PAIRS} off/on pairs of ${SECONDS} s slices per endpoint (${WARMUP} s warm-up each), ${CASES} cases, database pool ${env.DB_POOL_SIZE}+${env.DB_MAX_OVERFLOW} per server (node ${process.version})${BASE_ROOT ? `\nVERSION A/B: "base" is the API built in ${BASE_ROOT}, "this" the one in ${THIS_ROOT}; both audit, "cost" is this version's over the base` : ''}${CONTROL ? '\nCONTROL RUN: both servers audit ("off" too); the costs below are the noise of the method' : ''}`,
    );
    // Both servers run for the whole benchmark and the load alternates between them in
    // short slices (off/on, then on/off, …): the machine's slow phases, which last seconds
    // to tens of seconds here, fall on both arms alike instead of on whichever ran then.
    // The "on" server's background work (the sealer, once a second) goes on across slices
    // as it does in service: sealing a slice's last second may fall into the next slice,
    // the other arm's half the time (~0.5 % of a slice's CPU at most).
    const servers = {};
    servers.off = await startApi(env, CONTROL || OUTBOX || BASE_ROOT !== undefined, tmp, BASE_ROOT);
    servers.on = await startApi(env, true, tmp, THIS_ROOT);
    const results = {};
    try {
      for (const [scenario, requests] of Object.entries(scenarios)) {
        const arms = { off: [], on: [] };
        for (const mode of ['off', 'on']) {
          await setOutbox(mode);
          await load(servers[mode].url, token, requests, WARMUP);
        }
        await batching(); // batches of the measured slices only
        for (let pair = 0; pair < PAIRS; pair++) {
          const line = [];
          for (const mode of pair % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
            const cpu0 = machineCpuMs();
            const api0 = processCpuMs(servers[mode].pid);
            const backends = async () =>
              (
                await client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name])
              ).rows.map((x) => x.pid);
            await setOutbox(mode);
            const events0 = await outboxRows();
            const db0 = backendCpuMs(await backends());
            const t0 = performance.now();
            const r = await load(servers[mode].url, token, requests, SECONDS);
            const seconds = (performance.now() - t0) / 1000;
            const cpu1 = machineCpuMs();
            const api1 = processCpuMs(servers[mode].pid);
            const db1 = backendCpuMs([...db0.keys(), ...(await backends())]);
            const failed = r.non2xx + r.errors + r.timeouts;
            // The real path: the outbox arm wrote an event per write, the other none.
            const events = (await outboxRows()) - events0;
            if (OUTBOX && (mode === 'on' ? events < r.requests.total : events !== 0))
              throw new Error(
                `${scenario}/${mode}: ${events} outbox events for ${r.requests.total} writes (trigger ${mode})`,
              );
            if (failed > 0)
              throw new Error(
                `${scenario}/${mode}: ${failed} failed requests (${JSON.stringify({ non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, codes: r.statusCodeStats })})`,
              );
            const slice = {
              requests: r.requests.total,
              seconds,
              rps: r.requests.total / seconds,
              // Machine CPU (API, PostgreSQL, load generator, background), steal excluded.
              busyMs: cpu0 && cpu1 ? cpu1.busy - cpu0.busy : NaN,
              stealMs: cpu0 && cpu1 ? cpu1.steal - cpu0.steal : NaN,
              // The API process alone (user + system), the arm's own work.
              apiMs: api0 !== undefined && api1 !== undefined ? api1 - api0 : NaN,
              // The bench database's backends (only this arm's load runs during the slice).
              dbMs: [...db1].reduce((t, [pid, ms]) => t + ms - (db0.get(pid) ?? 0), 0),
              p50: r.latency.p50,
              p99: r.latency.p99,
            };
            arms[mode].push(slice);
            line.push(
              `${ARM[mode]} ${slice.rps.toFixed(0).padStart(5)} req/s p99 ${String(slice.p99).padStart(3)} ms steal ${((slice.stealMs / (seconds * 1000)) * 100).toFixed(0).padStart(2)} %`,
            );
          }
          const [a, b] = [arms.off.at(-1), arms.on.at(-1)];
          out(
            `  ${scenario.padEnd(4)} pair ${String(pair + 1).padStart(2)}  ${line.join('  ')}  cost ${((1 - b.rps / a.rps) * 100).toFixed(1).padStart(5)} %`,
          );
        }
        results[scenario] = { ...arms, perBatch: await batching() };
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
    const sum = (a, f) => a.reduce((x, y) => x + f(y), 0);
    const median = (a) => {
      const v = [...a].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    out('');
    out(
      `| endpoint | ${ARM.off} (req/s) | ${ARM.on} (req/s) | cost (throughput) | cost (median of pairs) | CPU-ms/req ${ARM.off} → ${ARM.on} | cost (CPU per request) | API process CPU-ms/req ${ARM.off} → ${ARM.on} | PostgreSQL CPU-ms/req ${ARM.off} → ${ARM.on} | p50 / p99 ms ${ARM.off} → ${ARM.on} | events per audit transaction |`,
    );
    out('|---|---|---|---|---|---|---|---|---|---|---|');
    let worst = 0;
    for (const [s, { off, on, perBatch }] of Object.entries(results)) {
      // Throughput of each arm over all its slices: every request it completed over the time it ran.
      const rpsOff = sum(off, (x) => x.requests) / sum(off, (x) => x.seconds);
      const rpsOn = sum(on, (x) => x.requests) / sum(on, (x) => x.seconds);
      const cost = (1 - rpsOn / rpsOff) * 100;
      const paired = median(off.map((x, i) => (1 - on[i].rps / x.rps) * 100));
      const cpuOff = sum(off, (x) => x.busyMs) / sum(off, (x) => x.requests);
      const cpuOn = sum(on, (x) => x.busyMs) / sum(on, (x) => x.requests);
      // On a saturated machine throughput is cores / CPU per request: the capacity auditing takes.
      const cpuCost = (1 - cpuOff / cpuOn) * 100;
      const apiOff = sum(off, (x) => x.apiMs) / sum(off, (x) => x.requests);
      const apiOn = sum(on, (x) => x.apiMs) / sum(on, (x) => x.requests);
      const dbOff = sum(off, (x) => x.dbMs) / sum(off, (x) => x.requests);
      const dbOn = sum(on, (x) => x.dbMs) / sum(on, (x) => x.requests);
      const lat = (arm, k) => median(arm.map((x) => x[k]));
      worst = Math.max(worst, cost);
      out(
        `| ${s} | ${rpsOff.toFixed(0)} | ${rpsOn.toFixed(0)} | ${cost.toFixed(1)} % | ${paired.toFixed(1)} % | ${cpuOff.toFixed(2)} → ${cpuOn.toFixed(2)} | ${cpuCost.toFixed(1)} % | ${apiOff.toFixed(2)} → ${apiOn.toFixed(2)} | ${dbOff.toFixed(2)} → ${dbOn.toFixed(2)} | ${lat(off, 'p50')} / ${lat(off, 'p99')} → ${lat(on, 'p50')} / ${lat(on, 'p99')} | ${perBatch.toFixed(1)} |`,
      );
    }
    out('');
    if (BASE_ROOT) {
      out(
        `this version vs the base: worst throughput cost ${worst.toFixed(1)} % (no target; compare with an A/A run's noise, BENCH_CONTROL=1)`,
      );
    } else if (OUTBOX) {
      out(
        `target: the outbox costs ≤ 10 % of write throughput — ${worst <= 10 ? 'met' : 'NOT met'}`,
      );
      process.exitCode = worst <= 10 ? 0 : 1;
    } else {
      out(`target: auditing costs < 15 % of throughput — ${worst < 15 ? 'met' : 'NOT met'}`);
      process.exitCode = worst < 15 ? 0 : 1;
    }
  } finally {
    await client?.end().catch(() => undefined);
    await ums.close();
    await db.dropDatabase(ADMIN_URL, name).catch(() => undefined);
    if (KEEP_LOGS) out(`API logs kept in ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:audit failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
