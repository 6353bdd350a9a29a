import { spawn } from 'node:child_process';
import * as path from 'node:path';

/**
 * The Docker CLI for the image test, asynchronous (a build takes minutes and
 * ums-dev serves from the same process meanwhile). The legacy builder
 * (DOCKER_BUILDKIT=0): BuildKit fetches its `# syntax=` frontend from Docker
 * Hub, and the test machines reach no registry.
 */
export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function docker(
  bin: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: o.cwd,
      env: { ...process.env, DOCKER_BUILDKIT: '0', ...(o.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const tail = (s: string, lines = 40) => s.trimEnd().split('\n').slice(-lines).join('\n');

/** Runs docker and returns stdout; throws with the end of its output on failure. */
export async function dockerOk(
  bin: string,
  args: string[],
  o: Parameters<typeof docker>[2] = {},
): Promise<string> {
  const r = await docker(bin, args, o);
  if (r.code !== 0)
    throw new Error(
      `${path.basename(bin)} ${args.slice(0, 3).join(' ')} … exited ${r.code}\n${tail(r.stdout)}\n${tail(r.stderr)}`,
    );
  return r.stdout;
}

/**
 * A node script for `docker run --entrypoint node IMAGE -e …`: lists the regular
 * files under / (not /proc, /sys, /dev) that contain one of `markers`
 * (argv[1], JSON), or are named like a CA bundle. Files over 8 MB (the node
 * binary) are not read.
 */
export const FIND_FILES_SCRIPT = `
const fs = require('fs'), path = require('path');
const markers = JSON.parse(process.argv[1]);
const out = { containing: [], bundles: [] };
const walk = (d) => {
  let entries; try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { if (!['/proc', '/sys', '/dev'].includes(p)) walk(p); continue; }
    if (!e.isFile()) continue;
    if (/ca-certificates\\.crt$|ca-bundle|cacert/i.test(e.name)) out.bundles.push(p);
    let st; try { st = fs.statSync(p); } catch { continue; }
    if (st.size > 8 * 1024 * 1024) continue;
    let text; try { text = fs.readFileSync(p, 'latin1'); } catch { continue; }
    if (markers.some((m) => text.includes(m))) out.containing.push(p);
  }
};
walk('/');
process.stdout.write(JSON.stringify(out));
`;

/** A node script for `docker exec`: every other process of the container, its uid and command line. */
export const PROCESSES_SCRIPT = String.raw`
const fs = require('fs');
const out = [];
for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && d !== String(process.pid))) {
  try {
    const uid = /^Uid:\s*(\d+)/m.exec(fs.readFileSync('/proc/' + p + '/status', 'utf8'))[1];
    const cmd = fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\0').filter(Boolean).join(' ');
    out.push({ uid: Number(uid), cmd });
  } catch {}
}
process.stdout.write(JSON.stringify(out));
`;
