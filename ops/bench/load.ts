import autocannon from 'autocannon';
import * as os from 'node:os';
import type { Client as PgClient } from 'pg';
import type { ScenarioName } from './config';
import { busyPct, machineTicks, processCpuMs, rssSampler } from './machine';
import type { CheckStats, PayloadSampler } from './payload';
import { connection, type ScenarioContext } from './scenarios';

export type ServerKind = 'lhcms' | 'baseline';

export interface PointResult {
  scenario: ScenarioName;
  server: ServerKind;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  errorDetail: {
    socket: number;
    timeouts: number;
    non2xx: number;
    byStatus: Record<string, number>;
  };
  rssPeakMB: number;
  rssMeanMB: number;
  /** CPU time the server process used per request (user + system). */
  serverCpuMsPerReq: number;
  /** CPU use during the point, in % of one core (2 cores = 200 %). */
  cpu: { machine?: number; server: number; harness: number; postgres?: number; other?: number };
  loadAvg1AtStart: number;
  /** ms waited before the point for the previous one's backlog to drain (see settle()). */
  settleMs: number;
  /** The payload check of the measured load (undefined: not checked, e.g. profiling). */
  checks?: CheckStats;
  /** Requests sent (answered or still in flight when the load stopped). */
  sent?: number;
  /** 2xx answers (measured window). */
  ok2xx?: number;
  /** Set for an interleaved arm: the slices merged into this point. */
  interleaved?: { slices: number; sliceSeconds: number; rounds: number };
}

/** Exact percentile of a sorted sample (nearest rank). */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** A growable array of latencies in ms (autocannon's own histogram is ms-granular; we keep every value). */
class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort();
  }
}

/** CPU ms of the PostgreSQL backends serving the bench database (/proc of pg_stat_activity's pids). */
async function postgresCpu(admin: PgClient | undefined, db: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (!admin) return out;
  try {
    const r = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [db],
    );
    for (const { pid } of r.rows) {
      const ms = processCpuMs(pid);
      if (ms !== undefined) out.set(pid, ms);
    }
  } catch {
    /* statistics are best effort */
  }
  return out;
}

/**
 * Waits until the bench database runs no query, the server is idle, and the
 * cluster has room for `needConnections` more connections (the other server's
 * idle pool closes after its idle timeout; PostgreSQL's max_connections is
 * shared with the other engineers' tests). A point that overloads the server
 * (requests time out on the client side but stay queued in the pool and in
 * PostgreSQL) would otherwise bleed into the next one. Gives up after
 * `maxMs`; returns the time waited.
 */
export async function settle(
  admin: PgClient | undefined,
  db: string,
  serverPid: number,
  needConnections = 0,
  maxMs = 60_000,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    let active = 0;
    let room = Infinity;
    if (admin) {
      const r = await admin.query<{ n: number; room: number }>(
        `SELECT count(*) FILTER (WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid())::int AS n,
                current_setting('max_connections')::int - count(*) FILTER (WHERE backend_type = 'client backend')::int AS room
           FROM pg_stat_activity`,
        [db],
      );
      active = r.rows[0]?.n ?? 0;
      room = r.rows[0]?.room ?? Infinity;
    }
    const c0 = processCpuMs(serverPid) ?? 0;
    await new Promise((r) => setTimeout(r, 250));
    const busy = ((processCpuMs(serverPid) ?? 0) - c0) / 250;
    const idle = active === 0 && busy < 0.1;
    // Room is best effort: after 15 s, other engineers' connections are not ours to wait for.
    const roomOk = room >= needConnections || Date.now() - start > 15_000;
    if ((idle && roomOk) || Date.now() - start > maxMs) return Date.now() - start;
  }
}

function runAutocannon(
  url: string,
  scenario: ScenarioName,
  connections: number,
  seconds: number,
  ctx: ScenarioContext,
  timeoutSeconds: number,
  onResponse?: (ms: number) => void,
  sampler?: PayloadSampler,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    let k = 0;
    const inst = autocannon(
      {
        url,
        connections,
        duration: seconds,
        // autocannon stops on a sample tick: keep short runs short.
        sampleInt: Math.min(1000, Math.max(100, (seconds * 1000) / 5)),
        timeout: timeoutSeconds,
        setupClient: (client) => {
          const conn = connection(scenario, k++, { ...ctx, connections });
          client.setRequests([
            {
              headers: conn.headers,
              setupRequest: (req) => {
                const spec = conn.next();
                const headers = { ...conn.headers };
                if (spec.body !== undefined) headers['content-type'] = 'application/json';
                return { ...req, method: spec.method, path: spec.path, body: spec.body, headers };
              },
              onResponse: (status, body) => {
                sampler?.observe(status, conn.last(), body);
                conn.onResponse(status);
              },
            },
          ]);
        },
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (onResponse)
      inst.on('response', (_c: unknown, _s: number, _b: number, ms: number) => onResponse(ms));
  });
}

export interface PointOptions {
  url: string;
  server: ServerKind;
  serverPid: number;
  scenario: ScenarioName;
  connections: number;
  duration: number;
  warmup: number;
  ctx: ScenarioContext;
  admin?: PgClient;
  dbName: string;
  timeoutSeconds?: number;
  /** Connections the server may open (its pool maximum): settle() waits for that much room. */
  poolMax?: number;
  /** false: the caller settled the server itself (a background load it started runs on purpose). */
  settle?: boolean;
  /** Free connections settle() waits for (default: the pool maximum or the connections, + 5). */
  settleRoom?: number;
  /** Checks a sample of the measured answers (not the warm-up's). */
  sampler?: PayloadSampler;
}

/** The warm-up's answers (the audit completeness check counts every request). */
export interface WarmupCounts {
  sent: number;
  ok2xx: number;
}

/**
 * One point: `warmup` seconds of the same load unrecorded, then `duration`
 * seconds measured, with the server's RSS sampled and the CPU of the server,
 * the load generator (this process), the bench database's PostgreSQL backends
 * and the rest of the machine accounted.
 */
export async function runPoint(o: PointOptions): Promise<PointResult> {
  return (await measurePoint(o)).point;
}

/** runPoint, with every latency of the measured window (sorted) and the warm-up's counts. */
export async function measurePoint(
  o: PointOptions,
): Promise<{ point: PointResult; sorted: Float64Array; warmup: WarmupCounts }> {
  const settleMs =
    o.settle === false
      ? 0
      : await settle(
          o.admin,
          o.dbName,
          o.serverPid,
          o.settleRoom ?? Math.min(o.poolMax ?? 0, o.connections) + 5,
        );
  const warmup: WarmupCounts = { sent: 0, ok2xx: 0 };
  if (o.warmup > 0) {
    const w = await runAutocannon(
      o.url,
      o.scenario,
      o.connections,
      o.warmup,
      o.ctx,
      o.timeoutSeconds ?? 10,
    );
    warmup.sent = w.requests.sent;
    warmup.ok2xx = w['2xx'];
  }
  const cores = os.cpus().length;
  const loadAvg1AtStart = os.loadavg()[0];
  const samples = new Samples();
  const pgBefore = await postgresCpu(o.admin, o.dbName);
  const ticks0 = machineTicks();
  const srv0 = processCpuMs(o.serverPid) ?? 0;
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const rss = rssSampler(o.serverPid);
  const res = await runAutocannon(
    o.url,
    o.scenario,
    o.connections,
    o.duration,
    o.ctx,
    o.timeoutSeconds ?? 10,
    (ms) => samples.push(ms),
    o.sampler,
  );
  const mem = rss.stop();
  const wallMs = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const srvMs = (processCpuMs(o.serverPid) ?? srv0) - srv0;
  const ticks1 = machineTicks();
  const pgAfter = await postgresCpu(o.admin, o.dbName);
  let pgMs = 0;
  for (const [pid, ms] of pgAfter) pgMs += ms - (pgBefore.get(pid) ?? 0);

  const sorted = samples.sorted();
  const requests = samples.length;
  const pct = (ms: number) => (ms / wallMs) * 100;
  const machine = busyPct(ticks0, ticks1, cores);
  const server = pct(srvMs);
  const harness = pct((self.user + self.system) / 1000);
  const postgres = o.admin ? pct(pgMs) : undefined;
  const byStatus: Record<string, number> = {};
  for (const [code, v] of Object.entries(res.statusCodeStats ?? {})) byStatus[code] = v.count;
  const mean = requests ? sorted.reduce((a, b) => a + b, 0) / requests : 0;
  const point: PointResult = {
    scenario: o.scenario,
    server: o.server,
    connections: o.connections,
    seconds: wallMs / 1000,
    requests,
    rps: requests / (wallMs / 1000),
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1] : 0,
      mean,
    },
    errors: res.errors + res.timeouts + res.non2xx,
    errorDetail: { socket: res.errors, timeouts: res.timeouts, non2xx: res.non2xx, byStatus },
    rssPeakMB: mem.peak / 2 ** 20,
    rssMeanMB: mem.mean / 2 ** 20,
    serverCpuMsPerReq: requests ? srvMs / requests : 0,
    cpu: {
      machine,
      server,
      harness,
      postgres,
      other:
        machine !== undefined && postgres !== undefined
          ? Math.max(0, machine - server - harness - postgres)
          : undefined,
    },
    loadAvg1AtStart,
    settleMs,
    checks: o.sampler ? { ...o.sampler.stats } : undefined,
    sent: res.requests.sent,
    ok2xx: res['2xx'],
  };
  return { point, sorted, warmup };
}

/** Unrecorded load (a warm-up); its counts, for the audit completeness check. */
export async function warmUp(o: {
  url: string;
  scenario: ScenarioName;
  connections: number;
  seconds: number;
  ctx: ScenarioContext;
  timeoutSeconds?: number;
}): Promise<WarmupCounts> {
  const w = await runAutocannon(
    o.url,
    o.scenario,
    o.connections,
    o.seconds,
    o.ctx,
    o.timeoutSeconds ?? 10,
  );
  return { sent: w.requests.sent, ok2xx: w['2xx'] };
}

/** A fixed number of sequential requests (round-trip counting, profiling warm-up). */
export async function runCount(
  url: string,
  scenario: ScenarioName,
  count: number,
  ctx: ScenarioContext,
): Promise<number[]> {
  const conn = connection(scenario, 0, { ...ctx, connections: 1 });
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const spec = conn.next();
    const headers: Record<string, string> = { ...conn.headers };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${spec.path}`, {
      method: spec.method,
      headers,
      body: spec.body,
    });
    await res.arrayBuffer();
    conn.onResponse(res.status);
    statuses.push(res.status);
  }
  return statuses;
}
