// `npm test`: prepares the external programs the tests drive
// (scripts/test-tools.sh: helm, promtool, local-kms, shellcheck, nginx; a few
// milliseconds once they are cached), passes where they are to Jest in
// HELM_BIN, PROMTOOL_BIN, LOCAL_KMS_BIN, SHELLCHECK_BIN and NGINX_BIN, then
// runs Jest with the arguments given (`npm test -- <paths>`). A tool that
// cannot be prepared is reported here, and the tests that need it fail saying
// what to install. `npm run test:unit` runs Jest directly: it needs no tools.
// For the image test it starts a Docker engine when none runs (below).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };

if (env.LHCMS_TEST_TIERS !== 'unit') {
  const tools = spawnSync('bash', [path.join(root, 'scripts/test-tools.sh')], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (tools.error) throw tools.error;
  for (const line of tools.stdout.split('\n')) {
    const m = /^([A-Z_]+_BIN)=(.+)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
}

// The real image test (test/deploy/docker-image.int-spec.ts) needs a Docker engine: when the
// run may include it and none answers, start Debian's dockerd here (as root; `.ci/run` does the
// same) and stop it when Jest is done. The base images are made (or found cached) first.
const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith('-'));
const mayRunImageTest =
  env.LHCMS_TEST_TIERS !== 'unit' &&
  (env.LHCMS_TEST_TIERS === undefined || env.LHCMS_TEST_TIERS.includes('deploy')) &&
  (paths.length === 0 || paths.some((p) => /docker|deploy/.test(p)));
let dockerd;
const engineAnswers = () =>
  spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore' })
    .status === 0;
if (mayRunImageTest && !env.DOCKER_BIN && !engineAnswers()) {
  const found = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' });
  if (found.status === 0 && process.getuid?.() === 0) {
    console.error('npm test: starting dockerd for the image test (stopped when the tests end)');
    dockerd = spawn('dockerd', [], { stdio: 'ignore' });
    for (let i = 0; i < 60 && !engineAnswers(); i++) spawnSync('sleep', ['1']);
  }
}
if (mayRunImageTest && engineAnswers()) {
  spawnSync('bash', [path.join(root, 'ops/docker/make-base-image.sh')], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

// Without TEST_REDIS_URL the cache runs in memory and the Redis fault suite cannot run: when
// the machine has redis-server, start a throwaway one on a free port (no persistence) for the
// run, and stop it when Jest is done.
let redis;
const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
if (env.LHCMS_TEST_TIERS !== 'unit' && !env.TEST_REDIS_URL && onPath('redis-server')) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const answers = () =>
    spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() ===
    'PONG';
  for (let i = 0; i < 50 && !answers(); i++) spawnSync('sleep', ['0.1']);
  if (answers()) {
    env.TEST_REDIS_URL = `redis://127.0.0.1:${port}/15`;
    console.error(`npm test: a throwaway Redis on port ${port} for this run`);
  } else {
    redis.kill('SIGTERM');
    redis = undefined;
  }
}

// The outbox's JetStream sink test needs NATS with JetStream: the machine's at 127.0.0.1:4222
// when it answers, else a throwaway nats-server (-js, a scratch store) on a free port when the
// machine has one; without either the suite is skipped and says why.
let nats;
let natsStore;
const tcpAnswers = (port) =>
  spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' }).status === 0;
if (env.LHCMS_TEST_TIERS !== 'unit' && !env.TEST_NATS_URL) {
  if (tcpAnswers(4222)) {
    env.TEST_NATS_URL = 'nats://127.0.0.1:4222';
  } else if (onPath('nats-server')) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    natsStore = mkdtempSync(path.join(os.tmpdir(), 'lhcms-test-nats-'));
    nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', natsStore], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 50 && !tcpAnswers(port); i++) spawnSync('sleep', ['0.1']);
    if (tcpAnswers(port)) {
      env.TEST_NATS_URL = `nats://127.0.0.1:${port}`;
      console.error(`npm test: a throwaway NATS (JetStream) on port ${port} for this run`);
    } else {
      nats.kill('SIGTERM');
      nats = undefined;
    }
  }
  if (!env.TEST_NATS_URL)
    console.error(
      'npm test: no NATS server (none on 127.0.0.1:4222, no nats-server): the JetStream sink suite is skipped',
    );
}

// The topology tier (test/topology: a streaming standby, a Redis Cluster, two APIs behind nginx)
// starts many processes and measures failover: run beside other suites it slows their latency
// checks and is slowed by them. A whole-suite run therefore runs it alone, after the others.
const ALL_TIERS = ['unit', 'service', 'e2e', 'deploy', 'topology'];
const tiers = env.LHCMS_TEST_TIERS ? env.LHCMS_TEST_TIERS.split(',').filter(Boolean) : ALL_TIERS;
const topologyApart = paths.length === 0 && tiers.includes('topology') && tiers.length > 1;
const runs = topologyApart
  ? [
      { tiers: tiers.filter((t) => t !== 'topology').join(','), extra: [] },
      { tiers: 'topology', extra: ['--runInBand'] },
    ]
  : [{ tiers: env.LHCMS_TEST_TIERS, extra: [] }];

let child;
// Ctrl-C reaches Jest itself (same process group): wait for it to finish its teardown.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child?.kill('SIGTERM'));

function runJest(run) {
  return new Promise((resolve) => {
    const runEnv = { ...env };
    if (run.tiers === undefined) delete runEnv.LHCMS_TEST_TIERS;
    else runEnv.LHCMS_TEST_TIERS = run.tiers;
    if (topologyApart) console.error(`npm test: Jest for the tiers ${run.tiers}`);
    child = spawn(
      process.execPath,
      [
        '--experimental-vm-modules',
        '--disable-warning=ExperimentalWarning',
        path.join(root, 'node_modules/jest/bin/jest.js'),
        ...args,
        ...run.extra,
      ],
      { env: runEnv, stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let exitCode = 0;
for (const run of runs) {
  const code = await runJest(run);
  if (code !== 0) exitCode = code;
}
process.exitCode = exitCode;
if (dockerd) dockerd.kill('SIGTERM');
if (redis) redis.kill('SIGTERM');
if (nats) nats.kill('SIGTERM');
if (natsStore) setTimeout(() => rmSync(natsStore, { recursive: true, force: true }), 500);
