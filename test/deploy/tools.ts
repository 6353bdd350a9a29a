import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * External programs the tests drive: helm, promtool, local-kms, weed,
 * shellcheck, nginx. `npm test` prepares them first (scripts/test-tools.sh: helm,
 * promtool and local-kms built with `go install` into the tool cache, nginx
 * and shellcheck installed with apt-get as root) and passes where they are
 * in HELM_BIN, PROMTOOL_BIN, LOCAL_KMS_BIN, WEED_BIN, SHELLCHECK_BIN, NGINX_BIN; .ci/run
 * uses the same script. Found in that order: the variable, the tool cache
 * (`$LHCMS_TOOLS_DIR`, default ~/.cache/lhcms-tools), then PATH.
 *
 * A missing tool fails the tests that need it, with a message saying what to
 * install: never a silent skip. The one exception is `npm run test:unit`
 * (LHCMS_TEST_TIERS=unit, which prepares no tools, outside CI): there a
 * missing shellcheck skips its block, with a title saying why.
 */
export interface Tool {
  name: string;
  /** Absolute path, or undefined when not installed. */
  bin: string | undefined;
  /** What to do when it is missing. */
  hint: string;
}

const TOOLS_SCRIPT = path.resolve(__dirname, '../../scripts/test-tools.sh');

/** A pinned version, read from scripts/test-tools.sh (the one place it is written). */
function pinned(name: string): string {
  const m = new RegExp(`^${name}=(\\S+)$`, 'm').exec(fs.readFileSync(TOOLS_SCRIPT, 'utf8'));
  if (!m) throw new Error(`scripts/test-tools.sh pins no ${name}`);
  return m[1];
}

export const HELM_VERSION = pinned('HELM_VERSION');
export const PROMTOOL_VERSION = pinned('PROMTOOL_VERSION');
export const LOCAL_KMS_VERSION = pinned('LOCAL_KMS_VERSION');
/** SeaweedFS, the S3-compatible server of the attachment store tests (test/storage). */
export const WEED_VERSION = pinned('WEED_VERSION');

const TOOLS_DIR = process.env.LHCMS_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'lhcms-tools');

function onPath(name: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), ...extra]) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

function find(
  name: string,
  envVar: string,
  cached: string | undefined,
  hint: string,
  extraDirs: string[] = [],
): Tool {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`);
    return { name, bin: fromEnv, hint };
  }
  if (cached && fs.existsSync(cached)) return { name, bin: cached, hint };
  return { name, bin: onPath(name, extraDirs), hint };
}

const goHint = (name: string, envVar: string) =>
  `\`npm test\` builds ${name} with \`go install\` (scripts/test-tools.sh) when Go is installed: install Go (https://go.dev/dl/) and run \`npm test\` again, or set ${envVar} to a ${name} binary`;
const aptHint = (name: string, pkg: string, envVar: string) =>
  `install it (Debian/Ubuntu: apt-get install ${pkg}; \`npm test\` does this when run as root), or set ${envVar} to a ${name} binary`;

const goTool = (name: string, envVar: string, version: string, extraDirs: string[] = []): Tool =>
  find(
    name,
    envVar,
    path.join(TOOLS_DIR, `${name}-${version}`, name),
    goHint(name, envVar),
    extraDirs,
  );

export const helm = (): Tool => goTool('helm', 'HELM_BIN', HELM_VERSION);
export const promtool = (): Tool => goTool('promtool', 'PROMTOOL_BIN', PROMTOOL_VERSION);
export const localKms = (): Tool =>
  goTool('local-kms', 'LOCAL_KMS_BIN', LOCAL_KMS_VERSION, [path.join(os.homedir(), 'go', 'bin')]);
export const weed = (): Tool =>
  find(
    'weed',
    'WEED_BIN',
    path.join(TOOLS_DIR, `weed-${WEED_VERSION}`, 'weed'),
    `npm test builds it with Go (scripts/test-tools.sh; the first build takes long), or set WEED_BIN`,
  );
export const shellcheck = (): Tool =>
  find(
    'shellcheck',
    'SHELLCHECK_BIN',
    undefined,
    aptHint('shellcheck', 'shellcheck', 'SHELLCHECK_BIN'),
  );
export const nginx = (): Tool =>
  find('nginx', 'NGINX_BIN', undefined, aptHint('nginx', 'nginx-light', 'NGINX_BIN'), [
    '/usr/sbin',
    '/usr/local/sbin',
  ]);

export const IN_CI = process.env.CI === 'true';

/** `npm run test:unit` outside CI: the one run that prepares no tools. */
const UNIT_ONLY = !IN_CI && process.env.LHCMS_TEST_TIERS === 'unit';

function missingMessage(tool: Tool): string {
  return `${tool.name} is not installed: ${tool.hint}`;
}

/** The tool's path, or an error saying what to install. */
export function requireTool(tool: Tool): string {
  if (!tool.bin) throw new Error(missingMessage(tool));
  return tool.bin;
}

/**
 * The Docker CLI (DOCKER_BIN, else PATH), when a Docker engine answers it.
 * .ci/run installs Debian's docker.io and starts dockerd when none runs.
 */
export function dockerEngine(): Tool {
  const hint =
    'no Docker engine answers (apt-get install docker.io debootstrap, start dockerd; .ci/run does both)';
  const bin = process.env.DOCKER_BIN || onPath('docker');
  if (!bin) return { name: 'docker', bin: undefined, hint };
  const r = spawnSync(bin, ['version', '--format', '{{.Server.Version}}'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { name: 'docker', bin: r.status === 0 ? bin : undefined, hint };
}

/**
 * `describe` when the tool is there; else a failing test that says what to
 * install (under `npm run test:unit` outside CI: a skipped block whose title
 * says why).
 */
export function describeWithTool(tool: Tool, title: string, body: (bin: string) => void): void {
  if (tool.bin) {
    const bin = tool.bin;
    describe(title, () => body(bin));
    return;
  }
  if (UNIT_ONLY) {
    describe.skip(`${title} [skipped by test:unit, which prepares no tools: ${tool.name} not found; \`npm test\` prepares it]`, () =>
      body(''));
    return;
  }
  describe(title, () => {
    it(`needs ${tool.name}`, () => {
      throw new Error(missingMessage(tool));
    });
  });
}

export function run(
  bin: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(bin, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Runs and returns stdout; throws with stderr on a non-zero exit. */
export function runOk(bin: string, args: string[], opts: Parameters<typeof run>[2] = {}): string {
  const r = run(bin, args, opts);
  if (r.status !== 0) {
    throw new Error(
      `${path.basename(bin)} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

export { execFileSync };

/** A self-signed certificate for `lhcms.test`, valid one day: `lhcms.crt` and `lhcms.key` in `dir` (nginx tests). */
export function throwawayCertificate(dir: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=lhcms.test',
      '-keyout',
      path.join(dir, 'lhcms.key'),
      '-out',
      path.join(dir, 'lhcms.crt'),
    ],
    { stdio: 'pipe' },
  );
}
