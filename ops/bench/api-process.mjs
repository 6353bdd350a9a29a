// The API as a child process for the .mjs benchmark scripts (bench:audit, the event
// latency harness): started on a free port of 127.0.0.1 from a build's dist/, in test mode
// with the image's heap flags and no per-user limit, healthy before it is returned, and
// stopped with SIGTERM. `env` is added to (and wins over) those defaults.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = resolve(import.meta.dirname, '../..');
const { freePort, PRODUCTION_NODE_OPTIONS } = require(join(ROOT, 'dist/ops/bench/servers.js'));

export { PRODUCTION_NODE_OPTIONS };

async function waitHealthy(url, child) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error('the API exited during start');
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API did not become healthy in 30 s');
}

/**
 * Starts the API built in `root` (default this checkout). `env(port)` gives the variables
 * that depend on the port (log and audit files); `stdout` is a file descriptor or 'ignore'.
 */
export async function startApiProcess({ root = ROOT, env, stdout = () => 'ignore' }) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'dist/apps/api/src/main.js')], {
    cwd: root,
    stdio: ['ignore', stdout(port), 'inherit'],
    env: {
      PATH: process.env.PATH,
      // Production refuses HIPAA_AUDIT_ENABLED=false: the benchmarks run in test mode.
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: PRODUCTION_NODE_OPTIONS,
      RATE_LIMIT_PER_MINUTE: '0',
      DB_MIGRATE_ON_START: 'false',
      ...env(port),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(url, child);
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((r) => {
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}
