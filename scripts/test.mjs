// `npm test`: prepares the external programs the tests drive
// (scripts/test-tools.sh: helm, promtool, local-kms, shellcheck, nginx; a few
// milliseconds once they are cached), passes where they are to Jest in
// HELM_BIN, PROMTOOL_BIN, LOCAL_KMS_BIN, SHELLCHECK_BIN and NGINX_BIN, then
// runs Jest with the arguments given (`npm test -- <paths>`). A tool that
// cannot be prepared is reported here, and the tests that need it fail saying
// what to install. `npm run test:unit` runs Jest directly: it needs no tools.
import { spawn, spawnSync } from 'node:child_process';
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

const jest = spawn(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    path.join(root, 'node_modules/jest/bin/jest.js'),
    ...process.argv.slice(2),
  ],
  { env, stdio: 'inherit' },
);
// Ctrl-C reaches Jest itself (same process group): wait for it to finish its teardown.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => jest.kill('SIGTERM'));
jest.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
