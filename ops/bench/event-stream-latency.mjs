// Event delivery latency: `npm run build && node ops/bench/event-stream-latency.mjs`.
//
// Measures the live feed (SSE) and the webhooks in the same run (BENCH_CHANNELS,
// default `sse,webhook`): one stream, and one webhook subscription to a receiver this
// script runs on 127.0.0.1 (every delivery's Standard Webhooks signature is verified with
// the subscription's secret; the run fails on a bad one, a missing event or a duplicate
// webhook-id).
//
// Starts the API (the real server process, the outbox dispatcher on, the
// defaults of EVENTS_DISPATCH_INTERVAL_MS and EVENTS_STREAM_POLL_MS unless set
// in the environment) on a fresh database with ums-dev, opens one live-feed
// stream (GET /api/v1/events/stream) and commits events at a fixed rate (open
// loop: one write every 1000/RATE ms, at most 64 in flight). BENCH_WRITES
// chooses the write:
//
//   sql (default): one transaction of the application role per event, lab set as the API
//     sets it, inserting a timeline row (`stage_changed`) of one of 20 cases created over
//     HTTP first: the outbox trigger of the real write path turns it into its event.
//     Measures what the feed adds to a commit, at a rate this machine reaches.
//   http: creates cases over HTTP (one `case.created` each): the whole API path, which a
//     small shared machine may not sustain at 200/s (the achieved rate is printed).
//
// For each event it records when its frame arrived on the stream, against two
// real timestamps of the write:
//
//   sent → frame: the write started before its transaction committed (an upper bound);
//   answered → frame: COMMIT (or the HTTP answer) returned after the commit (a lower bound).
//
// Prints p50/p95/p99/max of both and how many events arrived. Everything runs
// on 127.0.0.1 and stops by itself.
//
// Environment: BENCH_DATABASE_URL (a superuser URL; default the local
// PostgreSQL at 127.0.0.1:5432), BENCH_RATE (events per second, default 200),
// BENCH_SECONDS (default 20), BENCH_WARMUP (seconds at the same rate not
// counted, default 3), BENCH_WRITES (`sql` or `http`); EVENTS_DISPATCH_INTERVAL_MS and EVENTS_STREAM_POLL_MS are
// passed to the API when set.
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startApiProcess } from './api-process.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const ROOT = resolve(import.meta.dirname, '../..');
const { loadEnv } = require(join(ROOT, 'dist/libs/config/src/index.js'));
const db = require(join(ROOT, 'dist/libs/database/src/index.js'));
const umsDev = require(join(ROOT, 'dist/apps/ums-dev/src/index.js'));
const bench = require(join(ROOT, 'dist/ops/bench/seed-db.js'));

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const WRITES = process.env.BENCH_WRITES ?? 'sql';
const CHANNELS = (process.env.BENCH_CHANNELS ?? 'sse,webhook').split(',').map((c) => c.trim());
const MAX_IN_FLIGHT = 64;
const SECRET = 'bench-jwt-secret-0123456789abcdef';
const out = (s) => process.stdout.write(`${s}\n`);
const now = () => performance.timeOrigin + performance.now();

function startApi(env, tmp) {
  const passed = {};
  for (const k of ['EVENTS_DISPATCH_INTERVAL_MS', 'EVENTS_STREAM_POLL_MS']) {
    if (process.env[k]) passed[k] = process.env[k];
  }
  return startApiProcess({
    env: () => ({
      EVENTS_DISPATCHER: 'on',
      AUDIT_LOG_DESTINATION: join(tmp, 'audit.log'),
      AUDIT_CHECKPOINT_DIR: join(tmp, 'checkpoints'),
      ...passed,
      ...env,
    }),
  });
}

/** One SSE stream; calls onEvent(data, receivedAt) per event frame. */
function openStream(url, token, labId, onEvent) {
  return new Promise((resolveOpen, reject) => {
    const req = httpRequest(
      `${url}/api/v1/events/stream`,
      {
        headers: { authorization: `Bearer ${token}`, 'x-lab-id': String(labId) },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream refused: ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk) => {
          const at = now();
          buf += chunk;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) onEvent(JSON.parse(data.slice(6)), at);
          }
        });
        resolveOpen({ close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * A webhook receiver on 127.0.0.1: verifies each delivery's signature with `verify(headers,
 * body)` and calls onEvent(data, receivedAt, webhookId); answers 204 (400 on a bad signature).
 */
function startReceiver(verify, onEvent) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        verify(req.headers, body);
      } catch {
        res.writeHead(400).end();
        onEvent(undefined, at, req.headers['webhook-id']);
        return;
      }
      onEvent(JSON.parse(body), at, req.headers['webhook-id']);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/hook`,
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'lhcms-bench-sse-'));
  const name = `lhcms_bench_sse_${Date.now().toString(36)}`;
  const provisioned = await db.provisionDatabase({
    adminUrl: ADMIN_URL,
    database: name,
    ownerRole: bench.BENCH_OWNER_ROLE,
    ownerPassword: bench.BENCH_ROLE_PASSWORD,
    appRole: bench.BENCH_APP_ROLE,
    appPassword: bench.BENCH_ROLE_PASSWORD,
  });
  const seed = umsDev.loadSeed(umsDev.DEFAULT_SEED_FILE);
  const ums = await umsDev.startUmsDev(
    { seed, secret: SECRET, accessTtlSeconds: 3600, refreshTtlSeconds: 86400, shape: 'A+B' },
    { port: 0, host: '127.0.0.1' },
  );
  let api;
  let stream;
  let receiver;
  const pools = [];
  try {
    const env = {
      DATABASE_URL: provisioned.appUrl,
      DATABASE_OWNER_URL: provisioned.ownerUrl,
      UMS_BASE_URL: ums.url,
      JWT_SECRET_KEY: SECRET,
      SECRET_KEY: 'bench-secret-key-0123456789abcdef0123456789',
      DB_POOL_SIZE: '20',
    };
    await db.runMigrations(loadEnv({ NODE_ENV: 'test', ...env }));
    api = await startApi(env, tmp);
    const login = await fetch(`${ums.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin123' }),
    });
    const token = (await login.json()).access_token;
    const labId = seed.users.find((u) => u.username === 'admin').memberships[0].lab_id;

    /** `<case id>/<seq>` → { sent, answered, counted } */
    const creates = new Map();
    const frames = new Map();
    const wanted = WRITES === 'sql' ? 'case.stage_changed' : 'case.created';
    if (CHANNELS.includes('sse')) {
      stream = await openStream(api.url, token, labId, (e, at) => {
        if (e.type === wanted) frames.set(`${e.case_id}/${e.seq}`, at);
      });
    }
    // The webhook: a subscription of the lab to `wanted`, delivered to this process.
    const hooks = new Map();
    const hookIds = new Set();
    let badSignatures = 0;
    let duplicates = 0;
    if (CHANNELS.includes('webhook')) {
      const { Webhook } = await import('standardwebhooks');
      let verifier;
      receiver = await startReceiver(
        (headers, body) => verifier.verify(body, headers),
        (e, at, id) => {
          if (e === undefined) return void badSignatures++;
          if (hookIds.has(id)) duplicates++;
          hookIds.add(id);
          if (e.type === wanted) hooks.set(`${e.case_id}/${e.seq}`, at);
        },
      );
      const sub = await fetch(`${api.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-lab-id': String(labId),
        },
        body: JSON.stringify({ url: receiver.url, events: [wanted] }),
      });
      if (sub.status !== 201) throw new Error(`webhook subscription refused: ${sub.status}`);
      verifier = new Webhook((await sub.json()).secret);
    }

    const body = JSON.stringify({
      doctor_id: 'bench-doc',
      product_id: 'p',
      case_type: 'other',
      patient_info: { patient_id: 'BENCH-SSE' },
    });
    let inFlight = 0;
    let skipped = 0;
    let failed = 0;
    const httpCreate = async () => {
      const res = await fetch(`${api.url}/api/v1/cases/`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-lab-id': String(labId),
        },
        body,
      });
      const j = await res.json();
      if (res.status !== 201) throw new Error(`create: ${res.status}`);
      return j.id;
    };
    // sql: 20 cases, and a pool of the application role's connections.
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ connectionString: provisioned.appUrl, max: 16 });
    pools.push(pool);
    const cases = [];
    if (WRITES === 'sql') for (let i = 0; i < 20; i++) cases.push(await httpCreate());
    let turn = 0;
    const sqlWrite = async () => {
      const caseId = cases[turn++ % cases.length];
      const c = await pool.connect();
      try {
        await c.query(`BEGIN; SELECT set_config('app.lab_id', '${Number(labId)}', true)`);
        await c.query(
          `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id, from_stage, to_stage)
           VALUES ($1, $2, 'stage_changed', 'bench', 'a', 'b')`,
          [String(labId), caseId],
        );
        // The case's sequence row is locked by this transaction until COMMIT: its last_seq is
        // the seq the trigger gave this event.
        const r = await c.query(`SELECT last_seq FROM case_outbox_seq WHERE case_id = $1`, [
          caseId,
        ]);
        await c.query('COMMIT');
        return `${caseId}/${r.rows[0].last_seq}`;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    };
    const create = async (counted) => {
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped++;
        return;
      }
      inFlight++;
      const sent = now();
      try {
        const key = WRITES === 'sql' ? await sqlWrite() : `${await httpCreate()}/1`;
        creates.set(key, { sent, answered: now(), counted });
      } catch {
        failed++;
      } finally {
        inFlight--;
      }
    };
    const run = async (seconds, counted) => {
      const interval = 1000 / RATE;
      const start = now();
      const total = Math.round(seconds * RATE);
      const pending = [];
      for (let i = 0; i < total; i++) {
        const due = start + i * interval;
        const wait = due - now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        pending.push(create(counted));
      }
      await Promise.all(pending);
      return (now() - start) / 1000;
    };
    out(
      `event delivery latency (${CHANNELS.join(' and ')}): ${RATE} writes/s (${WRITES}: one ${wanted} each) for ${SECONDS} s after ${WARMUP} s of warm-up`,
    );
    await run(WARMUP, false);
    const elapsed = await run(SECONDS, true);
    // Let the last ones arrive.
    const until = Date.now() + 10_000;
    const counted = () => [...creates].filter(([, c]) => c.counted);
    const arrived = (id) =>
      (!CHANNELS.includes('sse') || frames.has(id)) &&
      (!CHANNELS.includes('webhook') || hooks.has(id));
    while (Date.now() < until && counted().some(([id]) => !arrived(id))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const latencies = (received) => {
      const fromSent = [];
      const fromAnswered = [];
      let missing = 0;
      for (const [id, c] of counted()) {
        const at = received.get(id);
        if (at === undefined) {
          missing++;
          continue;
        }
        fromSent.push(at - c.sent);
        fromAnswered.push(at - c.answered);
      }
      fromSent.sort((a, b) => a - b);
      fromAnswered.sort((a, b) => a - b);
      return { fromSent, fromAnswered, missing };
    };
    const row = (label, xs) =>
      `| ${label} | ${[50, 95, 99].map((p) => percentile(xs, p).toFixed(0)).join(' | ')} | ${xs[xs.length - 1]?.toFixed(0)} |`;
    out(
      `achieved ${(counted().length / elapsed).toFixed(0)} events/s committed (${failed} failed, ${skipped} not sent: ${MAX_IN_FLIGHT} in flight)`,
    );
    let missing = 0;
    for (const [channel, received] of [
      ['sse', frames],
      ['webhook', hooks],
    ]) {
      if (!CHANNELS.includes(channel)) continue;
      const l = latencies(received);
      missing += l.missing;
      out('');
      out(
        `${channel === 'sse' ? 'live feed (SSE)' : 'webhook'}: ${l.fromSent.length} received, ${l.missing} missing${channel === 'webhook' ? `, ${badSignatures} bad signatures, ${duplicates} repeated webhook-ids` : ''}`,
      );
      out('| latency (ms) | p50 | p95 | p99 | max |');
      out('|---|---|---|---|---|');
      out(row('write sent → received (upper bound)', l.fromSent));
      out(row('write answered → received (lower bound)', l.fromAnswered));
    }
    missing += badSignatures;
    process.exitCode = missing === 0 && failed === 0 ? 0 : 1;
  } finally {
    stream?.close();
    await receiver?.close();
    for (const p of pools) await p.end().catch(() => undefined);
    await api?.stop();
    await ums.close();
    await db.dropDatabase(ADMIN_URL, name).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`event-stream-latency failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
