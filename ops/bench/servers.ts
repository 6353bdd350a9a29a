import { BENCH_LOCAL_KEK } from './seed-db';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** The repository root (this file runs as dist/ops/bench/servers.js). */
export const PROJECT_ROOT = path.resolve(__dirname, '../../..');

const children = new Set<ChildProcess>();

/** Kills every child this process started (exit, watchdog, errors). */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try {
        // Started detached: the group holds npm's children as well.
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        c.kill('SIGKILL');
      }
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The outer environment's basics only: nothing of the shell's LHCMS_* / DATABASE_URL leaks in. */
export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k]) env[k] = process.env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface Server {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** ms from spawn to the first 200 of the health path. */
  readyMs: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Polls until `url` answers 200 and `isOurs()` agrees that the answer came
 * from the process we started (its "listening on <port>" log line): other
 * engineers' test servers bind random ports on this machine too.
 */
export async function waitHealthy(
  url: string,
  isAlive: () => boolean,
  timeoutMs: number,
  pollMs = 20,
  isOurs: () => boolean = () => true,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive()) throw new Error('exited before it answered');
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200 && isOurs()) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`no 200 from ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Spawns `command args` detached (its own process group, so npm's children
 * stop with it), output to a log file, and waits for `healthPath` to answer 200.
 */
export async function startServer(o: {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  healthPath: string;
  logFile: string;
  cwd: string;
  timeoutMs?: number;
}): Promise<Server> {
  const fd = fs.openSync(o.logFile, 'w');
  const started = performance.now();
  const child = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: o.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  fs.closeSync(fd);
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${o.port}`;
  const alive = () => child.exitCode === null && child.signalCode === null;
  try {
    const listening = `listening on http://127.0.0.1:${o.port}`;
    const ours = () => fs.readFileSync(o.logFile, 'utf8').includes(listening);
    await waitHealthy(`${url}${o.healthPath}`, alive, o.timeoutMs ?? 60_000, 20, ours);
  } catch (err) {
    if (alive()) process.kill(-child.pid!, 'SIGKILL');
    throw new Error(`${o.name} did not start: ${(err as Error).message}\n${tail(o.logFile)}`, {
      cause: err,
    });
  }
  const readyMs = performance.now() - started;
  return {
    name: o.name,
    url,
    pid: child.pid!,
    child,
    logFile: o.logFile,
    readyMs,
    exited,
    stop: async () => {
      if (!alive()) return;
      // SIGTERM to the group: LHCMS drains and exits (and --cpu-prof writes its profile).
      process.kill(-child.pid!, 'SIGTERM');
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 20_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface LhcmsEnv {
  databaseUrl: string;
  ownerUrl: string;
  redisUrl?: string;
  umsUrl: string;
  secretKey: string;
  jwtSecret: string;
  logLevel: string;
  extra: Record<string, string>;
}

/**
 * The V8 heap settings of the image (docker/Dockerfile `ENV NODE_OPTIONS`; a
 * test keeps them equal), so the RSS measured here is the one a pod sees.
 * `--server-env NODE_OPTIONS=` measures without them.
 */
export const PRODUCTION_NODE_OPTIONS = '--max-old-space-size=1024 --max-semi-space-size=16';

/** The production environment LHCMS runs with in every phase. */
export function lhcmsEnv(e: LhcmsEnv, port: number): NodeJS.ProcessEnv {
  return baseEnv({
    NODE_ENV: 'production',
    NODE_OPTIONS: PRODUCTION_NODE_OPTIONS,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: e.databaseUrl,
    DATABASE_OWNER_URL: e.ownerUrl,
    REDIS_URL: e.redisUrl,
    UMS_BASE_URL: e.umsUrl,
    SECRET_KEY: e.secretKey,
    JWT_SECRET_KEY: e.jwtSecret,
    ENCRYPTION_LOCAL_KEK: BENCH_LOCAL_KEK,
    HIPAA_AUDIT_ENABLED: 'true',
    // A handful of users make thousands of requests a second here: the per-user
    // limit (100/min) would measure 429s. Pass --server-env RATE_LIMIT_PER_MINUTE=… to include it.
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: e.logLevel,
    ...e.extra,
  });
}

export const LHCMS_MAIN = path.join(PROJECT_ROOT, 'dist/apps/api/src/main.js');
export const BASELINE_MAIN = path.join(PROJECT_ROOT, 'dist/ops/bench/baseline-server.js');

/** `NODE_ENV=production node [nodeArgs] dist/apps/api/src/main.js`, from a scratch cwd (no stray .env). */
export async function startLhcms(o: {
  env: LhcmsEnv;
  logFile: string;
  cwd: string;
  nodeArgs?: string[];
  name?: string;
}): Promise<Server> {
  const port = await freePort();
  return startServer({
    name: o.name ?? 'LHCMS',
    command: process.execPath,
    args: [...(o.nodeArgs ?? []), LHCMS_MAIN],
    env: lhcmsEnv(o.env, port),
    port,
    healthPath: '/health',
    logFile: o.logFile,
    cwd: o.cwd,
  });
}

export async function startBaseline(o: {
  databaseUrl: string;
  poolMax: number;
  logFile: string;
  cwd: string;
}): Promise<Server> {
  const port = await freePort();
  return startServer({
    name: 'baseline',
    command: process.execPath,
    args: [BASELINE_MAIN],
    env: baseEnv({
      NODE_ENV: 'production',
      BASELINE_PORT: String(port),
      BASELINE_DATABASE_URL: o.databaseUrl,
      BASELINE_POOL_MAX: String(o.poolMax),
    }),
    port,
    healthPath: '/health',
    logFile: o.logFile,
    cwd: o.cwd,
  });
}
