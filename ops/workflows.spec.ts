import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** .github/workflows: the seed's pipeline for a GitHub-hosted copy (cannot run here; checked as data). */
const dir = path.resolve(__dirname, '../.github/workflows');
const load = (f: string) => parseYaml(fs.readFileSync(path.join(dir, f), 'utf8'));
const scripts = (job: any): string =>
  job.steps.map((s: any) => `${s.run ?? ''} ${s.uses ?? ''}`).join('\n');

describe('.github/workflows', () => {
  const ci = load('ci.yml');
  const deploy = load('deploy.yml');

  it('ci: tests on PostgreSQL 15 and Redis 7 services with the same npm test', () => {
    const test = ci.jobs.test;
    expect(test.services.postgres.image).toBe('postgres:15');
    expect(test.services.redis.image).toMatch(/^redis:7/);
    expect(test.env.TEST_DATABASE_URL).toMatch(/^postgresql:\/\/.*127\.0\.0\.1:5432\//);
    const run = scripts(test);
    for (const cmd of ['npm ci', 'npm run lint', 'npm run typecheck', 'npm run build', 'npm test'])
      expect(run).toContain(cmd);
    // The tools the chart, rules and script tests need (they fail under CI=true without them).
    expect(run).toMatch(/HELM_BIN=.*\n.*PROMTOOL_BIN=.*\n.*SHELLCHECK_BIN=/);
  });

  it('ci: lints and renders the chart for Kubernetes 1.30, and checks the rules', () => {
    const run = scripts(ci.jobs.chart);
    expect(run).toContain('helm lint --strict helm/lhcms');
    expect(run).toContain('--kube-version 1.30');
    expect(run).toContain('promtool test rules ops/prometheus/lhcms-rules.test.yaml');
    expect(run).toContain('shellcheck -x ops/*.sh');
  });

  it('ci: builds docker/Dockerfile and pushes it tagged by commit SHA, on main only, after the checks', () => {
    const image = ci.jobs.image;
    expect(image.needs).toEqual(['test', 'chart']);
    expect(image.if).toContain("github.ref == 'refs/heads/main'");
    const build = image.steps.find((s: any) =>
      String(s.uses).startsWith('docker/build-push-action'),
    );
    expect(build.with.file).toBe('docker/Dockerfile');
    expect(build.with.push).toBe(true);
    expect(build.with.tags).toMatch(/:\$\{\{ github\.sha \}\}$/);
  });

  it('deploy: runs ops/deploy.sh with the image of the commit CI built, after CI succeeded on main', () => {
    expect(deploy.on.workflow_run).toMatchObject({ workflows: ['ci'], branches: ['main'] });
    const job = deploy.jobs.deploy;
    expect(job.if).toContain("conclusion == 'success'");
    expect(job.environment).toBe('production');
    expect(scripts(job)).toMatch(
      /ops\/deploy\.sh "\$\{\{ github\.event\.workflow_run\.head_sha \}\}"/,
    );
    expect(deploy.concurrency['cancel-in-progress']).toBe(false);
  });
});
