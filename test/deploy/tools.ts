import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * External tools the deployment and storage tests drive (helm, promtool,
 * shellcheck, weed). .ci/run builds or installs them and exports HELM_BIN /
 * PROMTOOL_BIN / SHELLCHECK_BIN / WEED_BIN. Found in that order: the variable, the CI tool cache
 * (`$LHCMS_TOOLS_DIR`, default ~/.cache/lhcms-tools), then PATH.
 *
 * With CI=true a missing tool fails the test that needs it (never a silent
 * skip); elsewhere those tests are skipped with a note saying how to get it.
 */
export interface Tool {
  name: string;
  /** Absolute path, or undefined when not installed. */
  bin: string | undefined;
  /** How to get it, for the title of a skipped block (default: run .ci/run once). */
  hint?: string;
}

export const HELM_VERSION = 'v3.22.0';
export const PROMTOOL_VERSION = 'v0.316.0';
/** SeaweedFS, the S3-compatible server of the attachment store tests (test/storage). */
export const WEED_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';

const TOOLS_DIR = process.env.LHCMS_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'lhcms-tools');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

function find(name: string, envVar: string, cached: string | undefined): Tool {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`${envVar}=${fromEnv} does not exist`);
    return { name, bin: fromEnv };
  }
  if (cached && fs.existsSync(cached)) return { name, bin: cached };
  return { name, bin: onPath(name) };
}

export const helm = (): Tool =>
  find('helm', 'HELM_BIN', path.join(TOOLS_DIR, `helm-${HELM_VERSION}`, 'helm'));
export const promtool = (): Tool =>
  find(
    'promtool',
    'PROMTOOL_BIN',
    path.join(TOOLS_DIR, `promtool-${PROMTOOL_VERSION}`, 'promtool'),
  );
export const weed = (): Tool =>
  find('weed', 'WEED_BIN', path.join(TOOLS_DIR, `weed-${WEED_VERSION}`, 'weed'));
export const shellcheck = (): Tool => find('shellcheck', 'SHELLCHECK_BIN', undefined);

export const IN_CI = process.env.CI === 'true';

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
 * `describe` when the tool is there; under CI=true a missing tool becomes a
 * failing test; elsewhere a skipped block whose title says why.
 */
export function describeWithTool(tool: Tool, title: string, body: (bin: string) => void): void {
  if (tool.bin) {
    const bin = tool.bin;
    describe(title, () => body(bin));
    return;
  }
  if (IN_CI) {
    describe(title, () => {
      it(`needs ${tool.name}`, () => {
        throw new Error(
          `${tool.name} is not available: CI=true requires it (.ci/run provides it; see its "tools" step)` +
            (tool.hint ? `: ${tool.hint}` : ''),
        );
      });
    });
    return;
  }
  describe.skip(`${title} [skipped: ${tool.hint ?? `${tool.name} not found; run .ci/run once to build it`}]`, () =>
    body(''));
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
