// Audit overhead benchmark: `npm run bench:audit`.
//
// Starts the API (the real server process) twice against one seeded database,
// with HIPAA_AUDIT_ENABLED=false and =true, and drives list and get with
// autocannon over loopback; prints the throughput of each and what auditing
// costs, also as machine CPU time per request (/proc/stat: what the shared
// host's ups and downs, steal included, do not change). Everything runs on
// 127.0.0.1 and stops by itself.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default the local
// PostgreSQL at 127.0.0.1:5432), BENCH_SECONDS (per run, default 10),
// BENCH_CONNECTIONS (default 50), BENCH_CASES (seeded cases, default 2000),
// BENCH_ROUNDS (off/on pairs, default 2), BENCH_SCENARIOS (default
// `list,get`), BENCH_PROFILE_DIR (write a V8 CPU profile of each API run
// there).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const ROOT = resolve(import.meta.dirname, '../..');
const { loadEnv } = require(join(ROOT, 'dist/libs/config/src/index.js'));
const db = require(join(ROOT, 'dist/libs/database/src/index.js'));
const umsDev = require(join(ROOT, 'dist/apps/ums-dev/src/index.js'));
const { freePort, PRODUCTION_NODE_OPTIONS } = require(join(ROOT, 'dist/ops/bench/servers.js'));
const { machineCpuMs } = require(join(ROOT, 'dist/ops/bench/machine.js'));

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const CASES = Number(process.env.BENCH_CASES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const SECRET = 'bench-jwt-secret-0123456789abcdef';
const out = (s) => process.stdout.write(`${s}\n`);

async function waitHealthy(url, child) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error('the API exited during start');
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API did not become healthy in 30 s');
}

async function startApi(env, auditOn, tmp) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      // Production refuses HIPAA_AUDIT_ENABLED=false, so both runs are in test mode;
      // otherwise as the harness runs LHCMS: the image's heap flags, no per-user limit.
      NODE_OPTIONS: PROFILE_DIR
        ? `${PRODUCTION_NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${PROFILE_DIR} --cpu-prof-name=audit-${auditOn ? 'on' : 'off'}-${port}.cpuprofile`
        : PRODUCTION_NODE_OPTIONS,
      RATE_LIMIT_PER_MINUTE: '0',
      DB_MIGRATE_ON_START: 'false',
      HIPAA_AUDIT_ENABLED: String(auditOn),
      AUDIT_LOG_DESTINATION: join(tmp, `audit-${port}.log`),
      AUDIT_CHECKPOINT_DIR: join(tmp, 'checkpoints'),
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child);
  return {
    url,
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

function load(url, token, requests) {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
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
    ownerRole: 'lhcms_bench_owner',
    ownerPassword: 'bench-password',
    appRole: 'lhcms_bench_app',
    appPassword: 'bench-password',
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
    await client.query(
      `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, case_name, patient_info, created_at)
       SELECT '1', 'doc-' || (g % 50), 'prod-' || (g % 7), 'fixed_prosthetic', 'pending', 'Case ' || g,
              jsonb_build_object('patient_id', 'PT-' || g, 'age', 40), now() - g * interval '1 minute'
       FROM generate_series(1, $1) g`,
      [CASES],
    );
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
    const scenarios = {
      list: [{ method: 'GET', path: '/api/v1/cases/?per_page=20' }],
      get: [
        {
          method: 'GET',
          setupRequest: (req) => ({ ...req, path: `/api/v1/cases/${ids[n++ % ids.length]}` }),
        },
      ],
    };
    const wanted = (process.env.BENCH_SCENARIOS ?? 'list,get').split(',');
    for (const s of Object.keys(scenarios)) if (!wanted.includes(s)) delete scenarios[s];
    const results = {};
    for (const s of Object.keys(scenarios)) results[s] = { off: [], on: [] };
    out(
      `audit overhead: ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} off/on rounds, ${CASES} cases (node ${process.version})`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        const api = await startApi(env, mode === 'on', tmp);
        try {
          for (const [scenario, requests] of Object.entries(scenarios)) {
            await load(api.url, token, requests).then(() => undefined); // warm-up run, not counted
            const cpu0 = machineCpuMs();
            const r = await load(api.url, token, requests);
            const cpu1 = machineCpuMs();
            const non2xx = r.non2xx + r.errors + r.timeouts;
            if (non2xx > 0) throw new Error(`${scenario}/${mode}: ${non2xx} failed requests`);
            // Machine CPU (API, PostgreSQL, load generator, background) per request, and time stolen.
            const cpuMs = cpu0 && cpu1 ? (cpu1.busy - cpu0.busy) / r.requests.total : NaN;
            const stealPct =
              cpu0 && cpu1 ? ((cpu1.steal - cpu0.steal) / (SECONDS * 1000)) * 100 : NaN;
            results[scenario][mode].push({ rps: r.requests.average, cpuMs });
            const perBatch = mode === 'on' ? await batching() : 0;
            out(
              `  round ${round + 1} ${scenario.padEnd(4)} audit ${mode.padEnd(3)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ${cpuMs.toFixed(2)} CPU-ms/req  steal ${stealPct.toFixed(0)} %${mode === 'on' ? `  ${perBatch.toFixed(1)} events per audit transaction` : ''}`,
            );
          }
        } finally {
          await api.stop();
        }
      }
    }
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    const median = (a) => {
      const v = [...a].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    out('');
    out(
      '| endpoint | audit off (req/s) | audit on (req/s) | cost (mean throughput) | cost (median of rounds) | CPU-ms/req off → on | cost (CPU per request) |',
    );
    out('|---|---|---|---|---|---|---|');
    let worst = 0;
    for (const [s, { off, on }] of Object.entries(results)) {
      const rpsOff = mean(off.map((x) => x.rps));
      const rpsOn = mean(on.map((x) => x.rps));
      const cost = (1 - rpsOn / rpsOff) * 100;
      const paired = median(off.map((x, i) => (1 - on[i].rps / x.rps) * 100));
      const cpuOff = mean(off.map((x) => x.cpuMs));
      const cpuOn = mean(on.map((x) => x.cpuMs));
      // On a saturated machine throughput is cores / CPU per request: the capacity auditing takes.
      const cpuCost = (1 - cpuOff / cpuOn) * 100;
      worst = Math.max(worst, cost);
      out(
        `| ${s} | ${rpsOff.toFixed(0)} | ${rpsOn.toFixed(0)} | ${cost.toFixed(1)} % | ${paired.toFixed(1)} % | ${cpuOff.toFixed(2)} → ${cpuOn.toFixed(2)} | ${cpuCost.toFixed(1)} % |`,
      );
    }
    out('');
    out(
      `target: auditing costs < 15 % of throughput (mean throughput) — ${worst < 15 ? 'met' : 'NOT met'}`,
    );
    process.exitCode = worst < 15 ? 0 : 1;
  } finally {
    await client?.end().catch(() => undefined);
    await ums.close();
    await db.dropDatabase(ADMIN_URL, name).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:audit failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
