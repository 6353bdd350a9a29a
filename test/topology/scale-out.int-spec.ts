import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadEnv } from '@lhcms/config';
import { provisionDatabase, runAsUser, runMigrations } from '@lhcms/database';
import type { UmsDevServer } from '@lhcms/ums-dev';
import {
  cleanEnv,
  eventually,
  isolatedSeed,
  loginSeedUser,
  request,
  spawnNode,
  type Spawned,
  startTestUms,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
} from '@lhcms/testing';
import { Client } from 'pg';
import { nginx, requireTool, throwawayCertificate } from '../deploy/tools';

/**
 * Scale-out with real parts (docs/operations.md, "Read replicas"): a
 * PostgreSQL primary and a streaming standby made from it with pg_basebackup
 * (the machine's PostgreSQL 15 programs), two API processes with the standby
 * in DATABASE_REPLICA_URLS, and nginx with ops/nginx/lhcms.conf in front of
 * both. The servers log every statement with its parameters, so a request's
 * marker (a doctor_id filter) in a server's log says which one served it.
 *
 * Ports: the clusters on 25432-25439, nginx on 28000-28099 (whichever are free).
 */
const PG_BIN = process.env.LHCMS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const CONF = path.resolve(__dirname, '../../ops/nginx/lhcms.conf');
const MAX_LAG_MS = 3000;
const PROBE_MS = 200;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function freePortIn(from: number, to: number, taken: number[]): Promise<number> {
  for (let p = from; p <= to; p++) if (!taken.includes(p) && (await portFree(p))) return p;
  throw new Error(`no free port in ${from}-${to}`);
}

/** A PostgreSQL server of this test: its own data folder and log, started and stopped here. */
class Cluster {
  private child: ChildProcess | undefined;
  constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly logFile: string,
  ) {}

  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const as = runAsUser();
    const out = fs.openSync(this.logFile, 'a', 0o644);
    this.child = spawn(
      path.join(PG_BIN, 'postgres'),
      [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${path.dirname(this.dataDir)}`,
        '-c',
        'wal_level=replica',
        '-c',
        'max_wal_senders=5',
        '-c',
        'max_connections=120',
        '-c',
        'fsync=off',
        '-c',
        'log_statement=all',
        '-c',
        'log_line_prefix=%m %a %u ',
      ],
      { stdio: ['ignore', out, out], ...(as ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    fs.closeSync(out);
    await eventually(
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`postgres exited: ${this.log()}`);
        const c = new Client({ connectionString: this.url('postgres') });
        try {
          await c.connect();
          return true;
        } catch {
          return false;
        } finally {
          await c.end().catch(() => undefined);
        }
      },
      30_000,
      `PostgreSQL on ${this.port}`,
    );
  }

  /** Fast shutdown, waiting for the server to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    if (
      (await Promise.race([
        exited,
        sleep(20_000, undefined, { ref: false }).then(() => 'timeout'),
      ])) === 'timeout'
    ) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
  }

  /**
   * How many SELECTs this server ran with `marker` among their parameters
   * (log_statement's DETAIL line after the statement). Not the audit trail's
   * INSERTs, which record a list's filters on the primary.
   */
  selectsWith(marker: string): number {
    let statement = '';
    let inStatement = false;
    let n = 0;
    for (const line of this.log().split('\n')) {
      const entry = /^\d{4}-\d\d-\d\d /.test(line); // log_line_prefix starts with %m
      const m = /LOG:\s+(?:execute [^:]*|statement): (.*)$/.exec(line);
      if (m) {
        statement = m[1];
        inStatement = true;
      } else if (!entry && inStatement) {
        statement += ` ${line}`; // a statement's further lines
      } else {
        inStatement = false;
        if (line.includes(marker) && /^\s*(SELECT|WITH)\b/i.test(statement)) n++;
      }
    }
    return n;
  }

  async sql<R extends Record<string, unknown>>(database: string, text: string): Promise<R[]> {
    const c = new Client({ connectionString: this.url(database) });
    await c.connect();
    try {
      return (await c.query<R>(text)).rows;
    } finally {
      await c.end();
    }
  }
}

interface Api {
  name: string;
  url: string;
  proc: Spawned;
}

/** One metric sample's value from a /metrics text, or undefined when absent. */
function sample(text: string, name: string, labels: string): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{${labels}} `) || (labels === '' && l.startsWith(`${name} `)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('scale-out: two API replicas behind nginx, a PostgreSQL primary and a streaming standby', () => {
  let dir: string;
  let primary: Cluster;
  let standby: Cluster;
  let ums: UmsDevServer | undefined;
  const apis: Api[] = [];
  let nginxProc: ChildProcess | undefined;
  let nginxPort: number;
  let token: string;
  let database: string;
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

  /** A request through nginx (HTTPS, its self-signed certificate). */
  const viaNginx = (
    pathname: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: any }> =>
    new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : JSON.stringify(init.body);
      const req = https.request(
        {
          host: '127.0.0.1',
          port: nginxPort,
          path: pathname,
          method: init.method ?? 'GET',
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const direct = (api: Api, pathname: string, init: { method?: string; body?: unknown } = {}) =>
    request(api.url, pathname, { ...init, token });
  const metrics = async (api: Api) => (await fetch(`${api.url}/metrics`)).text();
  const newCase = (doctor: string) => ({
    doctor_id: doctor,
    product_id: 'p1',
    case_type: 'other',
    patient_info: { name: 'Scale Out', patient_id: `SO-${randomBytes(3).toString('hex')}` },
  });
  /** Both replicas say whether the standby is in use (`lhcms_db_replica_in_use`). */
  const standbyInUse = async (want: 0 | 1) =>
    eventually(
      async () => {
        for (const api of apis) {
          if (sample(await metrics(api), 'lhcms_db_replica_in_use', 'replica="0"') !== want) {
            return false;
          }
        }
        return true;
      },
      20_000,
      `lhcms_db_replica_in_use = ${want} on both replicas`,
    );
  const fallbacks = async (reason: string) => {
    let n = 0;
    for (const api of apis) {
      n +=
        sample(await metrics(api), 'lhcms_db_replica_fallback_reads_total', `reason="${reason}"`) ??
        0;
    }
    return n;
  };
  /** `n` lists through nginx with a marker of their own; every answer a 200. */
  const lists = async (marker: string, n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      statuses.push((await viaNginx(`/api/v1/cases/?doctor_id=${marker}`)).status);
    }
    expect(statuses).toEqual(Array(n).fill(200));
  };

  beforeAll(async () => {
    for (const program of ['initdb', 'postgres', 'pg_basebackup']) {
      if (!fs.existsSync(path.join(PG_BIN, program))) {
        throw new Error(
          `${path.join(PG_BIN, program)} is missing: install the PostgreSQL 15 server (Debian/Ubuntu: apt-get install postgresql-15), or set LHCMS_PG_BIN to a folder with initdb, postgres and pg_basebackup`,
        );
      }
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-scale-out-'));
    fs.chmodSync(dir, 0o711);
    const as = runAsUser();
    const owned = (p: string) => {
      fs.mkdirSync(p, { recursive: true, mode: 0o700 });
      if (as) fs.chownSync(p, as.uid, as.gid);
      return p;
    };
    const pgDir = owned(path.join(dir, 'pg'));
    const pPort = await freePortIn(25432, 25439, []);
    const sPort = await freePortIn(25432, 25439, [pPort]);
    primary = new Cluster(path.join(pgDir, 'primary'), pPort, path.join(pgDir, 'primary.log'));
    standby = new Cluster(path.join(pgDir, 'standby'), sPort, path.join(pgDir, 'standby.log'));
    // Trust on 127.0.0.1, replication connections included (initdb's default pg_hba.conf).
    execFileSync(
      path.join(PG_BIN, 'initdb'),
      [
        '-D',
        primary.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { stdio: 'pipe', ...(as ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
    await primary.start();

    database = `lhcms_scale_out`;
    const db = await provisionDatabase({
      adminUrl: primary.url('postgres'),
      database,
      ownerRole: 'lhcms_owner',
      ownerPassword: 'scale-out-owner',
      appRole: 'lhcms_app',
      appPassword: 'scale-out-app',
    });
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );

    // The standby: a base backup of the primary with the streaming settings (-R), hot standby.
    execFileSync(
      path.join(PG_BIN, 'pg_basebackup'),
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(pPort),
        '-U',
        'postgres',
        '-D',
        standby.dataDir,
        '-R',
        '-X',
        'stream',
        '--checkpoint=fast',
      ],
      { stdio: 'pipe', ...(as ?? {}) },
    );
    await standby.start();
    expect(await standby.sql('postgres', 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: true }]);
    const replicaUrl = db.appUrl.replace(`:${pPort}/`, `:${sPort}/`);

    const { seed } = isolatedSeed();
    ums = await startTestUms({ seed });
    token = await loginSeedUser(ums.url, 'admin');
    const checkpoints = owned(path.join(dir, 'checkpoints'));
    for (const name of ['a', 'b']) {
      const port = await freePortIn(
        28000,
        28099,
        apis.map((a) => Number(new URL(a.url).port)),
      );
      const proc = spawnNode(
        'dist/apps/api/src/main.js',
        cleanEnv({
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(port),
          DATABASE_URL: db.appUrl,
          DATABASE_OWNER_URL: db.ownerUrl,
          DATABASE_REPLICA_URLS: replicaUrl,
          DATABASE_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS),
          DATABASE_REPLICA_PROBE_MS: String(PROBE_MS),
          UMS_BASE_URL: ums.url,
          SECRET_KEY: TEST_SECRET_KEY,
          JWT_SECRET_KEY: TEST_JWT_SECRET,
          ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
          DB_MIGRATE_ON_START: 'false',
          DB_POOL_SIZE: '4',
          DB_MAX_OVERFLOW: '4',
          LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_MINUTE: '1000000',
          AUDIT_LOG_DESTINATION: '/dev/null',
          AUDIT_CHECKPOINT_DIR: checkpoints,
        }),
      );
      const api = { name, url: `http://127.0.0.1:${port}`, proc };
      apis.push(api);
      await eventually(
        async () => {
          if (proc.child.exitCode !== null)
            throw new Error(`API ${name} exited:\n${proc.output()}`);
          return (await fetch(`${api.url}/health/ready`).catch(() => undefined))?.status === 200;
        },
        40_000,
        `API ${name} ready`,
      );
    }

    // nginx with the project's configuration: the upstream is the two API processes, the
    // listeners on free ports of 127.0.0.1, a throwaway certificate. All of this test's load
    // comes from one address: the per-IP limit is raised (and only it), or it would answer 429.
    const ngDir = path.join(dir, 'nginx');
    fs.mkdirSync(path.join(ngDir, 'logs'), { recursive: true });
    throwawayCertificate(ngDir);
    const httpPort = await freePortIn(
      28000,
      28099,
      apis.map((a) => Number(new URL(a.url).port)),
    );
    nginxPort = await freePortIn(28000, 28099, [
      httpPort,
      ...apis.map((a) => Number(new URL(a.url).port)),
    ]);
    const original = fs.readFileSync(CONF, 'utf8');
    const conf = original
      .replace(
        /upstream lhcms-backend \{[^}]*\}/s,
        `upstream lhcms-backend {\n${apis.map((a) => `    server ${new URL(a.url).host} max_fails=3 fail_timeout=10s;`).join('\n')}\n    keepalive 32;\n}`,
      )
      .replace('rate=20r/s', 'rate=2000r/s')
      .replace(/^\s*listen \[::\].*$/gm, '')
      .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
      .replace('listen 443 ssl http2;', `listen 127.0.0.1:${nginxPort} ssl;`)
      .replace('/etc/ssl/certs/lhcms.crt', path.join(ngDir, 'lhcms.crt'))
      .replace('/etc/ssl/private/lhcms.key', path.join(ngDir, 'lhcms.key'));
    expect(conf).not.toBe(original);
    fs.writeFileSync(path.join(ngDir, 'lhcms.conf'), conf);
    fs.writeFileSync(
      path.join(ngDir, 'nginx.conf'),
      `pid ${ngDir}/nginx.pid;\nerror_log ${ngDir}/logs/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${ngDir}/lhcms.conf;\n}\n`,
    );
    nginxProc = spawn(
      requireTool(nginx()),
      ['-p', ngDir, '-c', path.join(ngDir, 'nginx.conf'), '-g', 'daemon off;'],
      { stdio: 'ignore' },
    );
    await eventually(
      async () => {
        if (nginxProc?.exitCode !== null) {
          throw new Error(
            `nginx exited: ${fs.readFileSync(path.join(ngDir, 'logs/error.log'), 'utf8')}`,
          );
        }
        return (await viaNginx('/api/v1/cases/?per_page=1').catch(() => undefined))?.status === 200;
      },
      15_000,
      'nginx to answer',
    );
    await standbyInUse(1);
  }, 150_000);

  afterAll(async () => {
    agent.destroy();
    if (nginxProc?.exitCode === null) {
      const exited = new Promise((r) => nginxProc?.once('exit', r));
      nginxProc.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
      if (nginxProc.exitCode === null) nginxProc.kill('SIGKILL');
    }
    for (const api of apis) {
      if (api.proc.child.exitCode === null) api.proc.child.kill('SIGTERM');
      await Promise.race([api.proc.exited, sleep(10_000, undefined, { ref: false })]);
      if (api.proc.child.exitCode === null) api.proc.child.kill('SIGKILL');
    }
    await ums?.close().catch(() => undefined);
    await standby?.stop().catch(() => undefined);
    await primary?.stop().catch(() => undefined);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('lists through nginx are served by the standby, not the primary', async () => {
    const marker = `so-list-${randomBytes(4).toString('hex')}`;
    await lists(marker, 10);
    // Each list's statements carry the marker as a parameter (the page and its count).
    expect(standby.selectsWith(marker)).toBeGreaterThanOrEqual(10);
    expect(primary.selectsWith(marker)).toBe(0);
  });

  it('a create through one replica is seen at once by a get through the other (reads by id go to the primary)', async () => {
    const [a, b] = apis;
    for (let i = 0; i < 10; i++) {
      const created = await direct(i % 2 ? a : b, '/api/v1/cases/', {
        method: 'POST',
        body: newCase('so-ryw'),
      });
      expect(created.status).toBe(201);
      const got = await direct(i % 2 ? b : a, `/api/v1/cases/${created.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.id).toBe(created.body.id);
    }
    // With the standby's replay paused (it stays in use until past the bound), a case created
    // through one replica is still found by id through the other: the standby does not have it
    // (a list served by the standby, at that moment, does not show it).
    await standby.sql('postgres', 'SELECT pg_wal_replay_pause()');
    try {
      const doctor = `so-paused-${randomBytes(4).toString('hex')}`;
      const created = await direct(a, '/api/v1/cases/', { method: 'POST', body: newCase(doctor) });
      expect(created.status).toBe(201);
      const got = await direct(b, `/api/v1/cases/${created.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.id).toBe(created.body.id);
      const listed = await direct(b, `/api/v1/cases/?doctor_id=${doctor}`);
      expect(listed.status).toBe(200);
      expect(standby.selectsWith(doctor)).toBeGreaterThanOrEqual(1);
      expect(listed.body.cases).toEqual([]);
    } finally {
      await standby.sql('postgres', 'SELECT pg_wal_replay_resume()');
    }
    await standbyInUse(1);
    // And through nginx, which alternates between the two.
    for (let i = 0; i < 6; i++) {
      const created = await viaNginx('/api/v1/cases/', { method: 'POST', body: newCase('so-ryw') });
      expect(created.status).toBe(201);
      const got = await viaNginx(`/api/v1/cases/${created.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.patient_info).toEqual(created.body.patient_info);
    }
  });

  it('exports the standby lag (small and within the bound here) and that reads use it', async () => {
    for (const api of apis) {
      const text = await metrics(api);
      const lag = sample(text, 'lhcms_db_replica_lag_seconds', 'replica="0"');
      expect(lag).toBeDefined();
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(MAX_LAG_MS / 1000);
      expect(sample(text, 'lhcms_db_replica_in_use', 'replica="0"')).toBe(1);
      // No URL or host in the series: the label is the standby's position.
      expect(text).not.toContain(`${standby.port}`);
    }
  });

  it('the standby down: reads answer 200 from the primary (counted as fallbacks); back up: reads return to it', async () => {
    const before = (await fallbacks('down')) + (await fallbacks('error'));
    await standby.stop();
    const down = `so-down-${randomBytes(4).toString('hex')}`;
    // At once (before any probe notices): a lost standby connection is read again on the primary.
    await lists(down, 12);
    expect(primary.selectsWith(down)).toBeGreaterThanOrEqual(12);
    await standbyInUse(0);
    await lists(down, 4);
    expect((await fallbacks('down')) + (await fallbacks('error'))).toBeGreaterThanOrEqual(
      before + 16,
    );
    for (const api of apis) {
      expect(
        sample(await metrics(api), 'lhcms_db_replica_lag_seconds', 'replica="0"'),
      ).toBeUndefined();
    }

    await standby.start();
    await standbyInUse(1);
    const back = `so-back-${randomBytes(4).toString('hex')}`;
    await lists(back, 6);
    expect(standby.selectsWith(back)).toBeGreaterThanOrEqual(6);
    expect(primary.selectsWith(back)).toBe(0);
  }, 60_000);

  it('the standby lagging past DATABASE_REPLICA_MAX_LAG_MS: reads go to the primary until it catches up', async () => {
    const before = await fallbacks('lagging');
    await standby.sql('postgres', 'SELECT pg_wal_replay_pause()');
    try {
      expect(
        (await viaNginx('/api/v1/cases/', { method: 'POST', body: newCase('so-lag') })).status,
      ).toBe(201);
      await standbyInUse(0);
      for (const api of apis) {
        expect(
          sample(await metrics(api), 'lhcms_db_replica_lag_seconds', 'replica="0"'),
        ).toBeGreaterThan(MAX_LAG_MS / 1000);
      }
      const lagging = `so-lag-${randomBytes(4).toString('hex')}`;
      await lists(lagging, 6);
      expect(primary.selectsWith(lagging)).toBeGreaterThanOrEqual(6);
      expect(standby.selectsWith(lagging)).toBe(0);
      expect(await fallbacks('lagging')).toBeGreaterThanOrEqual(before + 6);
    } finally {
      await standby.sql('postgres', 'SELECT pg_wal_replay_resume()');
    }
    await standbyInUse(1);
    const caught = `so-caught-${randomBytes(4).toString('hex')}`;
    await lists(caught, 4);
    expect(standby.selectsWith(caught)).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
