import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithTool, run, shellcheck } from '../test/deploy/tools';

/**
 * ops/*.sh and ops/docker/*.sh: shellcheck-clean, strict mode, and ops/deploy.sh's control flow
 * (upgrade --atomic --wait, helm test, readiness, rollback on failure) driven
 * against recording helm/kubectl stubs. The backup scripts run against a real
 * PostgreSQL in test/deploy/backup-restore.int-spec.ts.
 */
const OPS = __dirname;
const shellScripts = (dir: string) =>
  fs
    .readdirSync(path.join(OPS, dir))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => path.join(dir, f));
/** Paths relative to ops/. */
const scripts = [...shellScripts('.'), ...shellScripts('docker')];

describe('ops/*.sh, ops/docker/*.sh', () => {
  it('are the scripts docs/operations.md (Backups and restore drill) documents', () => {
    expect(scripts).toEqual(
      expect.arrayContaining([
        'backup_database.sh',
        'restore_database.sh',
        'restore_drill.sh',
        'deploy.sh',
      ]),
    );
  });

  it.each(scripts.filter((s) => s !== 'lib.sh'))(
    '%s runs in strict mode and is executable',
    (s) => {
      const text = fs.readFileSync(path.join(OPS, s), 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
      expect(text).toMatch(/^set -euo pipefail$/m);
      expect(fs.statSync(path.join(OPS, s)).mode & 0o111).not.toBe(0);
    },
  );

  it('pass no password on a command line', () => {
    for (const s of scripts) {
      const text = fs.readFileSync(path.join(OPS, s), 'utf8');
      expect(text).not.toMatch(/--password|-W\b|PGPASSWORD=\S|:\/\/[^ "]*:[^ "]*@/);
    }
  });
});

describeWithTool(shellcheck(), 'shellcheck', (bin) => {
  it('finds nothing in ops/*.sh and ops/docker/*.sh', () => {
    const r = run(bin, ['-x', '-S', 'style', ...scripts.map((s) => path.join('ops', s))], {
      cwd: path.resolve(OPS, '..'),
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('ops/deploy.sh', () => {
  let dir: string;
  const log = () => path.join(dir, 'calls.log');
  const calls = () =>
    fs.existsSync(log()) ? fs.readFileSync(log(), 'utf8').trim().split('\n').filter(Boolean) : [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-deploy-'));
    // Stubs record their argv; FAIL_<TOOL>_<SUBCOMMAND>=1 makes that call fail.
    const stub = (tool: string) => `#!/usr/bin/env bash
echo "${tool} $*" >> "${dir}/calls.log"
sub=$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')
var="FAIL_${tool.toUpperCase()}_$sub"
[ "\${!var:-0}" = 1 ] && { echo "${tool} $1 failed" >&2; exit 1; }
case "$1" in
  status) echo '{"name":"lhcms","version":4,"info":{"status":"deployed"}}' ;;
  get) [ "$2" = deployment ] && printf 'lhcms' || echo '{"status":"ready"}' ;;
esac
exit 0
`;
    fs.writeFileSync(path.join(dir, 'helm'), stub('helm'), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'kubectl'), stub('kubectl'), { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function deploy(args: string[], fail: Record<string, string> = {}) {
    return spawnSync('bash', [path.join(OPS, 'deploy.sh'), ...args], {
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: os.tmpdir(), CHART: 'helm/lhcms', ...fail },
      encoding: 'utf8',
    });
  }

  it('upgrades atomically and waits, then runs helm test and checks readiness', () => {
    const r = deploy(['3f2c1ab', '-f', 'prod-values.yaml']);
    expect(r.stderr).toMatch(/deploy ok release=lhcms tag=3f2c1ab/);
    expect(r.status).toBe(0);
    const c = calls();
    expect(c).toEqual([
      'helm status lhcms --namespace lhcms -o json',
      'helm upgrade --install lhcms helm/lhcms --namespace lhcms --create-namespace --atomic --wait --wait-for-jobs --timeout 10m --set-string image.tag=3f2c1ab -f prod-values.yaml',
      'kubectl get deployment --namespace lhcms -l app.kubernetes.io/instance=lhcms,app.kubernetes.io/component=api -o jsonpath={.items[0].metadata.name}',
      'helm test lhcms --namespace lhcms --timeout 5m',
      'kubectl rollout status deployment/lhcms --namespace lhcms --timeout 120s',
      'kubectl get --raw /api/v1/namespaces/lhcms/services/http:lhcms:http/proxy/health/ready',
    ]);
  });

  it('rolls back to the previous revision when helm test fails', () => {
    const r = deploy(['3f2c1ab'], { FAIL_HELM_TEST: '1' });
    expect(r.status).not.toBe(0);
    expect(calls()).toContain('helm rollback lhcms 4 --namespace lhcms --wait --timeout 10m');
    expect(r.stderr).toMatch(/helm test failed/);
  });

  it('rolls back when readiness does not answer after the rollout', () => {
    const r = deploy(['3f2c1ab'], { FAIL_KUBECTL_GET: '0', FAIL_KUBECTL_ROLLOUT: '1' });
    expect(r.status).not.toBe(0);
    expect(calls().at(-1)).toBe('helm rollback lhcms 4 --namespace lhcms --wait --timeout 10m');
  });

  it('leaves a failed upgrade to --atomic (no second rollback, no test)', () => {
    const r = deploy(['3f2c1ab'], { FAIL_HELM_UPGRADE: '1' });
    expect(r.status).not.toBe(0);
    expect(calls().some((c) => c.startsWith('helm rollback') || c.startsWith('helm test'))).toBe(
      false,
    );
    expect(r.stderr).toMatch(/--atomic/);
  });

  it('refuses a malformed tag before calling anything', () => {
    const r = deploy(['latest; rm -rf /']);
    expect(r.status).not.toBe(0);
    expect(calls()).toEqual([]);
  });
});
