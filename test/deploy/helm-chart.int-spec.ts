import * as fs from 'node:fs';
import * as path from 'node:path';
import { Env } from '@lhcms/config';
import { PROJECT_ROOT } from '@lhcms/testing';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import {
  METRICS,
  type MetricSpec,
  SCRAPE_TARGET_LABELS,
} from '../../apps/api/src/metrics/metric-catalogue';
import { parseDockerfile } from './dockerfile';
import { type K8sObject, validateObject } from './k8s-validate';
import { describeWithTool, helm, run } from './tools';

/**
 * The Helm chart, rendered the way Kubernetes 1.30 would get it: `helm lint
 * --strict` and `helm template --kube-version 1.30` for the defaults and every
 * ci/*-values.yaml, every object schema-validated, and the promises of
 * the Helm section of docs/operations.md asserted on the rendered objects. Bad values must be refused
 * by values.schema.json.
 */
const CHART = path.join(PROJECT_ROOT, 'helm/lhcms');
const KUBE_VERSION = '1.30';
const CRDS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];
const VARIANTS = fs
  .readdirSync(path.join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

describeWithTool(helm(), 'helm/lhcms chart', (bin) => {
  function helmRun(args: string[]) {
    const r = run(bin, args, { cwd: PROJECT_ROOT });
    // Helm notes the symlinks of files/ (ops/ is the single source) on stderr.
    const stderr = r.stderr
      .split('\n')
      .filter((l) => l && !/found symbolic link in path/.test(l))
      .join('\n');
    return { status: r.status, stdout: r.stdout, stderr };
  }

  function render(valuesArgs: string[], opts: { crds?: boolean } = {}): K8sObject[] {
    const args = ['template', 'rel', CHART, '--namespace', 'lhcms', '--kube-version', KUBE_VERSION];
    if (opts.crds ?? true) for (const c of CRDS) args.push('--api-versions', c);
    const r = helmRun([...args, ...valuesArgs]);
    if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
    const docs = parseAllDocuments(r.stdout, { uniqueKeys: true });
    const objects: K8sObject[] = [];
    for (const d of docs) {
      if (d.errors.length) throw new Error(`rendered YAML is invalid: ${d.errors.join('; ')}`);
      const o = d.toJS() as K8sObject | null;
      if (o) objects.push(o);
    }
    return objects;
  }
  const valuesFile = (v: string) => ['-f', path.join(CHART, 'ci', v)];
  const find = (objs: K8sObject[], kind: string, suffix = '') =>
    objs.filter((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
  const one = (objs: K8sObject[], kind: string, suffix = '') => {
    const found = find(objs, kind, suffix);
    if (found.length !== 1) throw new Error(`expected one ${kind}*${suffix}, got ${found.length}`);
    return found[0];
  };

  it('ships a ci/ values file for each main variant', () => {
    expect(VARIANTS).toEqual(
      expect.arrayContaining([
        'default-values.yaml',
        'production-values.yaml',
        'chart-secret-values.yaml',
        'monitoring-values.yaml',
      ]),
    );
  });

  it.each([['(defaults)', []], ...VARIANTS.map((v) => [v, valuesFile(v)])])(
    'helm lint --strict passes: %s',
    (_name, values) => {
      const r = helmRun(['lint', '--strict', CHART, ...(values as string[])]);
      expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(r.status).toBe(0);
    },
  );

  it.each([['(defaults)', []], ...VARIANTS.map((v) => [v, valuesFile(v)])])(
    'renders for Kubernetes 1.30 and every object validates against its schema: %s',
    (_name, values) => {
      const objs = render(values as string[]);
      expect(objs.length).toBeGreaterThan(5);
      expect(objs.flatMap(validateObject)).toEqual([]);
      for (const o of objs) expect(o.metadata.labels?.['app.kubernetes.io/instance']).toBe('rel');
    },
  );

  describe('default values', () => {
    let objs: K8sObject[];
    beforeAll(() => {
      objs = render([]);
    });
    const deployment = () => one(objs, 'Deployment');
    const container = () => deployment().spec.template.spec.containers[0];

    it('runs 3 replicas with the seed resources, on port 5001, without an HPA', () => {
      expect(deployment().spec.replicas).toBe(3);
      expect(find(objs, 'HorizontalPodAutoscaler')).toEqual([]);
      expect(container().resources).toEqual({
        requests: { cpu: '250m', memory: '256Mi' },
        limits: { cpu: '500m', memory: '512Mi' },
      });
      expect(container().ports).toEqual([{ name: 'http', containerPort: 5001, protocol: 'TCP' }]);
      const svc = one(objs, 'Service');
      expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http' });
      expect(svc.spec.selector).toEqual(deployment().spec.selector.matchLabels);
    });

    it('probes liveness on /health/live, readiness on /health/ready, startup on /health/startup', () => {
      const c = container();
      expect(c.livenessProbe).toEqual({
        httpGet: { path: '/health/live', port: 'http' },
        periodSeconds: 10,
        timeoutSeconds: 3,
        failureThreshold: 3,
      });
      expect(c.readinessProbe).toMatchObject({
        httpGet: { path: '/health/ready', port: 'http' },
        periodSeconds: 5,
        failureThreshold: 2,
      });
      expect(c.startupProbe).toMatchObject({
        httpGet: { path: '/health/startup', port: 'http' },
        periodSeconds: 2,
        failureThreshold: 150,
      });
    });

    it('is locked down: non-root numeric uid (the image USER), read-only root with /tmp, no capabilities, seccomp', () => {
      const pod = deployment().spec.template.spec;
      const c = container();
      const image = parseDockerfile(
        fs.readFileSync(path.join(PROJECT_ROOT, 'docker/Dockerfile'), 'utf8'),
      );
      const user = image.stages
        .at(-1)!
        .instructions.filter((i) => i.op === 'USER')
        .at(-1)!.args;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: Number(user.split(':')[0]),
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes).toContainEqual(
        expect.objectContaining({ name: 'tmp', emptyDir: expect.any(Object) }),
      );
      expect(pod.automountServiceAccountToken).toBe(false);
      const sa = one(objs, 'ServiceAccount', 'rel-lhcms');
      expect(sa.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe(sa.metadata.name);
    });

    it('shuts down gracefully: preStop sleep, 45 s grace, no unavailable pod during a rollout', () => {
      const pod = deployment().spec.template.spec;
      expect(pod.terminationGracePeriodSeconds).toBe(45);
      expect(container().lifecycle.preStop.exec.command).toEqual(['sleep', '10']);
      // The endpoint is gone before the listener closes (preStop sleep, then SHUTDOWN_DELAY_MS of
      // `Connection: close` answers), and the slowest request still ends inside the grace period.
      const config = one(objs, 'ConfigMap', 'rel-lhcms').data as Record<string, string>;
      const preStopMs = Number(container().lifecycle.preStop.exec.command[1]) * 1000;
      const delayMs = Number(config.SHUTDOWN_DELAY_MS);
      const slowestMs = Number(config.DB_STATEMENT_TIMEOUT_MS ?? new Env().DB_STATEMENT_TIMEOUT_MS);
      expect(delayMs).toBeGreaterThan(0);
      expect(preStopMs + delayMs + slowestMs).toBeLessThan(
        pod.terminationGracePeriodSeconds * 1000,
      );
      expect(deployment().spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect(one(objs, 'PodDisruptionBudget').spec).toMatchObject({
        maxUnavailable: 1,
        selector: { matchLabels: deployment().spec.selector.matchLabels },
      });
      const spread = pod.topologySpreadConstraints.map((t: any) => t.topologyKey);
      expect(spread).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    });

    it('reads the seed Secret `lhcms-secrets` (database-url, secret-key required; the rest optional)', () => {
      expect(find(objs, 'Secret')).toEqual([]);
      const env = Object.fromEntries(
        container()
          .env.filter((e: any) => e.valueFrom)
          .map((e: any) => [e.name, e.valueFrom.secretKeyRef]),
      );
      expect(env.DATABASE_URL).toEqual({ name: 'lhcms-secrets', key: 'database-url' });
      expect(env.SECRET_KEY).toEqual({ name: 'lhcms-secrets', key: 'secret-key' });
      for (const k of [
        'DATABASE_OWNER_URL',
        'JWT_SECRET_KEY',
        'REDIS_URL',
        'UMS_API_KEY',
        'METRICS_TOKEN',
        'ENCRYPTION_LOCAL_KEK',
        'ENCRYPTION_LOCAL_KEKS_RETIRED',
      ])
        expect(env[k]).toMatchObject({ name: 'lhcms-secrets', optional: true });
      const cm = one(objs, 'ConfigMap', 'rel-lhcms');
      expect(cm.data).toMatchObject({ NODE_ENV: 'production', PORT: '5001' });
      expect(container().envFrom).toEqual([{ configMapRef: { name: cm.metadata.name } }]);
      expect(deployment().spec.template.metadata.annotations['checksum/config']).toMatch(
        /^[a-f0-9]{64}$/,
      );
    });

    it("migrates in a pre-install,pre-upgrade hook Job (same image, weight 0, backoffLimit 1, deadline below Helm's 5 min)", () => {
      const job = one(objs, 'Job', '-migrate');
      expect(job.metadata.annotations).toMatchObject({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-weight': '0',
      });
      expect(job.spec.backoffLimit).toBe(1);
      expect(job.spec.activeDeadlineSeconds).toBeLessThan(300);
      const c = job.spec.template.spec.containers[0];
      expect(c.image).toBe(container().image);
      expect(c.command).toEqual(['node', 'dist/apps/api/src/cli.js', 'migrate']);
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
      // Everything the Job needs exists before it: the existing Secret, its config inline,
      // and a hook ServiceAccount created first.
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
      expect(env.DATABASE_URL.valueFrom.secretKeyRef.name).toBe('lhcms-secrets');
      expect(env.NODE_ENV.value).toBe('production');
      expect(env.UMS_BASE_URL.value).toBeDefined();
      const sa = one(objs, 'ServiceAccount', '-migrate');
      expect(job.spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
      expect(Number(sa.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(0);
      expect(sa.metadata.annotations!['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    });

    it('has a `helm test` pod that calls /health/ready through the Service', () => {
      const pod = one(objs, 'Pod', '-test-ready');
      expect(pod.metadata.annotations!['helm.sh/hook']).toBe('test');
      const args = pod.spec.containers[0].command.join(' ');
      expect(args).toContain('http://rel-lhcms:80/health/ready');
      expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    });

    it('ships the Grafana dashboards of ops/grafana as labelled ConfigMaps', () => {
      const cms = objs.filter(
        (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard,
      );
      const files = fs
        .readdirSync(path.join(PROJECT_ROOT, 'ops/grafana'))
        .filter((f) => f.endsWith('.json'));
      expect(cms).toHaveLength(files.length);
      for (const f of files) {
        const cm = cms.find((c) => c.data[f]);
        expect(cm?.metadata.labels?.grafana_dashboard).toBe('1');
        const source = JSON.parse(
          fs.readFileSync(path.join(PROJECT_ROOT, 'ops/grafana', f), 'utf8'),
        );
        expect(JSON.parse(cm!.data[f])).toEqual(source);
      }
    });

    it('never deploys ums-dev', () => {
      expect(JSON.stringify(objs)).not.toMatch(/ums-dev/);
    });
  });

  it('renders the ServiceMonitor and PrometheusRule only when their CRDs exist; the rules are ops/prometheus/lhcms-rules.yaml', () => {
    const without = render(valuesFile('monitoring-values.yaml'), { crds: false });
    expect(find(without, 'ServiceMonitor')).toEqual([]);
    expect(find(without, 'PrometheusRule')).toEqual([]);

    const objs = render(valuesFile('monitoring-values.yaml'));
    const sm = one(objs, 'ServiceMonitor');
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics', interval: '15s' });
    expect(sm.spec.selector.matchLabels).toEqual(one(objs, 'Service').spec.selector);
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
    const rule = one(objs, 'PrometheusRule');
    const source = parseYaml(
      fs.readFileSync(path.join(PROJECT_ROOT, 'ops/prometheus/lhcms-rules.yaml'), 'utf8'),
    ) as { groups: unknown };
    expect(rule.spec.groups).toEqual(source.groups);
    const cms = objs.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard);
    expect(cms[0].metadata.annotations).toEqual({ grafana_folder: 'LHCMS' });
  });

  it("the ServiceMonitor's target labels never shadow an app label (route templates survive the Operator)", () => {
    const sm = one(render(valuesFile('monitoring-values.yaml')), 'ServiceMonitor');
    // Labels the Operator sets on every series of the target, plus any the chart adds.
    const ep = sm.spec.endpoints[0];
    const target = new Set<string>([
      ...SCRAPE_TARGET_LABELS,
      ...(sm.spec.targetLabels ?? []),
      ...(sm.spec.podTargetLabels ?? []),
      ...(ep.relabelings ?? []).map((r: { targetLabel?: string }) => r.targetLabel),
    ]);
    // honorLabels stays off: the app cannot overwrite job/namespace/pod, and it needs not to.
    expect(ep.honorLabels ?? false).toBe(false);
    const appLabels = (METRICS as readonly MetricSpec[]).flatMap((m) => [...m.labels]);
    expect(appLabels).toContain('route');
    expect(appLabels.filter((l) => target.has(l))).toEqual([]);
  });

  it('production variant: HPA 2-10 at 80 % CPU, Ingress with TLS, NetworkPolicy, image by digest', () => {
    const objs = render(valuesFile('production-values.yaml'));
    const d = one(objs, 'Deployment');
    expect(d.spec.replicas).toBeUndefined();
    expect(one(objs, 'HorizontalPodAutoscaler').spec).toMatchObject({
      minReplicas: 2,
      maxReplicas: 10,
      scaleTargetRef: { kind: 'Deployment', name: d.metadata.name },
      metrics: [{ resource: { name: 'cpu', target: { averageUtilization: 80 } } }],
    });
    const ing = one(objs, 'Ingress');
    expect(ing.spec.tls).toEqual([{ secretName: 'lhcms-tls', hosts: ['lhcms.example.com'] }]);
    expect(ing.spec.rules[0].http.paths[0].backend.service.name).toBe(d.metadata.name);
    const np = one(objs, 'NetworkPolicy');
    expect(np.spec.podSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    // The helm test pod may still reach the API.
    expect(np.spec.ingress[0].from).toContainEqual({
      podSelector: {
        matchLabels: { 'app.kubernetes.io/instance': 'rel', 'app.kubernetes.io/component': 'test' },
      },
    });
    expect(d.spec.template.spec.containers[0].image).toMatch(/@sha256:[a-f0-9]{64}$/);
  });

  it('chart-managed Secret: created, checksummed, and copied into a weight -10 hook Secret for the migration Job', () => {
    const objs = render(valuesFile('chart-secret-values.yaml'));
    const secret = one(objs, 'Secret', 'rel-lhcms');
    expect(Buffer.from(secret.data['database-url'], 'base64').toString()).toMatch(
      /^postgresql:\/\//,
    );
    expect(secret.data['secret-key']).toBeDefined();
    const hook = one(objs, 'Secret', '-migrate');
    expect(hook.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-10',
    });
    expect(hook.data).toEqual(secret.data);
    const job = one(objs, 'Job', '-migrate');
    const ref = job.spec.template.spec.containers[0].env.find(
      (e: any) => e.name === 'DATABASE_OWNER_URL',
    );
    expect(ref.valueFrom.secretKeyRef.name).toBe(hook.metadata.name);
    const d = one(objs, 'Deployment');
    expect(d.spec.template.metadata.annotations['checksum/secret']).toMatch(/^[a-f0-9]{64}$/);
    // Single replica: no PDB that would block node drains.
    expect(find(objs, 'PodDisruptionBudget')).toEqual([]);
  });

  it('mounts a volume for the signed audit checkpoints (emptyDir by default, a shared claim when given)', () => {
    const mounted = (args: string[]) => {
      const d = one(render(args), 'Deployment');
      const c = d.spec.template.spec.containers[0];
      const env = c.env.find((e: any) => e.name === 'AUDIT_CHECKPOINT_DIR');
      const mount = c.volumeMounts.find((m: any) => m.name === 'audit-checkpoints');
      const volume = d.spec.template.spec.volumes.find((v: any) => v.name === 'audit-checkpoints');
      return { dir: env?.value, mountPath: mount?.mountPath, volume };
    };
    const dflt = mounted([]);
    expect(dflt.dir).toBe('/var/lib/lhcms/audit-checkpoints');
    expect(dflt.mountPath).toBe(dflt.dir);
    expect(dflt.volume.emptyDir).toBeDefined();
    const claim = mounted(['--set', 'auditCheckpoints.existingClaim=lhcms-audit']);
    expect(claim.volume).toEqual({
      name: 'audit-checkpoints',
      persistentVolumeClaim: { claimName: 'lhcms-audit' },
    });
  });

  it('attachments: a filesystem volume by default (a claim when given), or S3 with its Secret and NetworkPolicy egress', () => {
    const envOf = (c: any) =>
      Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]));
    const dflt = one(render([]), 'Deployment');
    const c = dflt.spec.template.spec.containers[0];
    expect(envOf(c)).toMatchObject({
      ATTACHMENT_STORE: 'filesystem',
      ATTACHMENT_DIR: '/var/lib/lhcms/attachments',
    });
    expect(c.volumeMounts).toContainEqual({
      name: 'attachments',
      mountPath: '/var/lib/lhcms/attachments',
    });
    expect(dflt.spec.template.spec.volumes).toContainEqual({ name: 'attachments', emptyDir: {} });
    const claimed = one(render(['--set', 'attachments.existingClaim=lhcms-files']), 'Deployment');
    expect(claimed.spec.template.spec.volumes).toContainEqual({
      name: 'attachments',
      persistentVolumeClaim: { claimName: 'lhcms-files' },
    });

    const objs = render([
      '--set',
      'attachments.store=s3',
      '--set',
      'attachments.s3.bucket=lhcms-files',
      '--set',
      'attachments.s3.endpoint=http://minio.storage:9000',
      '--set',
      'attachments.s3.port=9000',
      '--set',
      'attachments.s3.forcePathStyle=true',
      '--set',
      'attachments.s3.accessKeyId=AKID',
      '--set',
      'attachments.s3.secretAccessKey=SECRET',
      '--set',
      'networkPolicy.enabled=true',
    ]);
    const s3 = one(objs, 'Deployment').spec.template.spec;
    const env = envOf(s3.containers[0]);
    expect(env).toMatchObject({
      ATTACHMENT_STORE: 's3',
      S3_BUCKET: 'lhcms-files',
      S3_ENDPOINT: 'http://minio.storage:9000',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(env.ATTACHMENT_DIR).toBeUndefined();
    expect(s3.volumes.map((v: any) => v.name)).not.toContain('attachments');
    const secretName = env.S3_SECRET_ACCESS_KEY.name;
    expect(env.S3_SECRET_ACCESS_KEY).toEqual({ name: secretName, key: 'secret-access-key' });
    const secret = objs.find(
      (o: any) => o.kind === 'Secret' && o.metadata.name === secretName,
    ) as any;
    expect(Buffer.from(secret.data['secret-access-key'], 'base64').toString()).toBe('SECRET');
    const np = one(objs, 'NetworkPolicy');
    expect(JSON.stringify(np.spec.egress)).toContain('9000');
    // The retention purge removes objects too: it gets the same store configuration.
    const purge = objs.find(
      (o: any) => o.kind === 'CronJob' && /retention/.test(o.metadata.name),
    ) as any;
    expect(envOf(purge.spec.jobTemplate.spec.template.spec.containers[0])).toMatchObject({
      ATTACHMENT_STORE: 's3',
      S3_BUCKET: 'lhcms-files',
    });

    const own = render([
      '--set',
      'attachments.store=s3',
      '--set',
      'attachments.s3.bucket=b',
      '--set',
      'attachments.s3.existingSecret=my-s3',
    ]);
    const ownEnv = envOf(one(own, 'Deployment').spec.template.spec.containers[0]);
    expect(ownEnv.S3_ACCESS_KEY_ID).toEqual({ name: 'my-s3', key: 'access-key-id' });
    expect(own.some((o: any) => o.kind === 'Secret' && /-s3$/.test(o.metadata.name))).toBe(false);
    const irsa = render(['--set', 'attachments.store=s3', '--set', 'attachments.s3.bucket=b']);
    expect(
      envOf(one(irsa, 'Deployment').spec.template.spec.containers[0]).S3_ACCESS_KEY_ID,
    ).toBeUndefined();
  });

  it('schedules the retention purge daily, and the audit purge only with a shared checkpoint claim', () => {
    const dflt = render([]);
    const retention = one(dflt, 'CronJob', '-retention');
    // The retention purge and the outbox prune (events.retentionDays, below).
    expect(find(dflt, 'CronJob')).toHaveLength(2);
    expect(retention.spec).toMatchObject({ schedule: '17 3 * * *', concurrencyPolicy: 'Forbid' });
    const pod = retention.spec.jobTemplate.spec.template.spec;
    const c = pod.containers[0];
    expect([...c.command, ...c.args]).toEqual([
      'node',
      'dist/apps/api/src/cli.js',
      'retention',
      'purge',
    ]);
    // Same config, same Secret and the same lock-down as the API pods; never selected by the Service.
    const api = one(dflt, 'Deployment').spec.template.spec;
    expect(c.envFrom).toEqual(api.containers[0].envFrom);
    expect(c.env.map((e: any) => e.name).sort()).toEqual(
      api.containers[0].env.map((e: any) => e.name).sort(),
    );
    expect(c.securityContext).toEqual(api.containers[0].securityContext);
    expect(pod.securityContext).toEqual(api.securityContext);
    expect(
      retention.spec.jobTemplate.spec.template.metadata.labels['app.kubernetes.io/component'],
    ).toBe('maintenance');

    const withClaim = render([
      '--set',
      'auditCheckpoints.existingClaim=lhcms-audit',
      '--set',
      'maintenance.schedule=5 1 * * 0',
    ]);
    const audit = one(withClaim, 'CronJob', '-audit-purge');
    expect(audit.spec.schedule).toBe('5 1 * * 0');
    const ac = audit.spec.jobTemplate.spec.template.spec;
    expect(ac.containers[0].args).toEqual(['audit', 'purge']);
    expect(ac.volumes).toContainEqual({
      name: 'audit-checkpoints',
      persistentVolumeClaim: { claimName: 'lhcms-audit', readOnly: true },
    });
    expect(find(render(['--set', 'maintenance.enabled=false']), 'CronJob')).toEqual([]);
    expect(
      helmRun(['template', 'rel', CHART, '--set', 'maintenance.schedule=daily']).status,
    ).not.toBe(0);
  });

  it('events: the dispatcher on by default, the NATS sink and its egress only with a URL, the outbox prune job, EVENTS_* refused in config', () => {
    const configOf = (objs: K8sObject[]) =>
      one(objs, 'ConfigMap', 'rel-lhcms').data as Record<string, string>;
    const dflt = render([]);
    expect(configOf(dflt)).toMatchObject({
      EVENTS_DISPATCHER: 'on',
      EVENTS_DISPATCH_INTERVAL_MS: '200',
    });
    expect(configOf(dflt).EVENTS_NATS_URL).toBeUndefined();
    const prune = one(dflt, 'CronJob', '-outbox-prune');
    expect(prune.spec.jobTemplate.spec.template.spec.containers[0].args).toEqual([
      'outbox',
      'prune',
      '--older-than-days',
      '30',
    ]);

    const nats = render([
      '--set',
      'events.nats.url=nats://nats-a:4222\\,nats://nats-b:4222',
      '--set',
      'events.dispatcher=false',
      '--set',
      'events.retentionDays=0',
      '--set',
      'networkPolicy.enabled=true',
    ]);
    expect(configOf(nats)).toMatchObject({
      EVENTS_DISPATCHER: 'off',
      EVENTS_NATS_URL: 'nats://nats-a:4222,nats://nats-b:4222',
      EVENTS_NATS_STREAM: 'LHCMS_EVENTS',
      EVENTS_NATS_SUBJECT_PREFIX: 'lhcms',
    });
    expect(find(nats, 'CronJob', '-outbox-prune')).toEqual([]);
    const egress = one(nats, 'NetworkPolicy').spec.egress as Array<{ ports: any[] }>;
    expect(egress.flatMap((e) => e.ports)).toContainEqual({ port: 4222, protocol: 'TCP' });
    const noNats = one(render(['--set', 'networkPolicy.enabled=true']), 'NetworkPolicy').spec
      .egress as Array<{ ports: any[] }>;
    expect(noNats.flatMap((e) => e.ports)).not.toContainEqual({ port: 4222, protocol: 'TCP' });

    // Bad values are refused by the schema: a non-NATS URL, EVENTS_* in config (the events block sets them).
    for (const bad of [
      ['--set', 'events.nats.url=http://nats:4222'],
      ['--set', 'events.dispatchIntervalMs=0'],
      ['--set', 'config.EVENTS_NATS_URL=nats://x:4222'],
      ['--set', 'config.EVENTS_DISPATCHER=off'],
    ]) {
      expect(helmRun(['template', 'rel', CHART, ...bad]).status).not.toBe(0);
    }
  });

  it('a config change rolls the pods (checksum annotation changes)', () => {
    const a = one(render([]), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    const b = one(render(['--set', 'config.LOG_LEVEL=debug']), 'Deployment').spec.template.metadata
      .annotations['checksum/config'];
    expect(b).not.toBe(a);
  });

  it.each([
    ['negative replicas', ['--set', 'replicaCount=-1']],
    ['an unknown top-level key', ['--set', 'replicas=3']],
    ['a bad pull policy', ['--set', 'image.pullPolicy=Sometimes']],
    ['running as root', ['--set', 'podSecurityContext.runAsUser=0']],
    ['a writable root filesystem', ['--set', 'securityContext.readOnlyRootFilesystem=false']],
    ['audit checkpoints under /tmp', ['--set', 'auditCheckpoints.mountPath=/tmp/audit']],
    ['privilege escalation', ['--set', 'securityContext.allowPrivilegeEscalation=true']],
    ['a secret in the ConfigMap', ['--set', 'config.DATABASE_URL=postgresql://u:p@h/db']],
    ['a non-production NODE_ENV', ['--set', 'config.NODE_ENV=development']],
    ['HPA target above 100 %', ['--set', 'autoscaling.targetCPUUtilizationPercentage=150']],
    [
      "a migration deadline beyond Helm's timeout",
      ['--set', 'migrations.activeDeadlineSeconds=900'],
    ],
    ['a liveness probe off /health', ['--set', 'probes.liveness.path=/api/v1/cases']],
    ['no existing Secret and no database URL', ['--set', 'secrets.existingSecret=']],
    [
      'a short SECRET_KEY',
      ['-f', 'helm/lhcms/ci/chart-secret-values.yaml', '--set', 'secrets.values.secretKey=short'],
    ],
    ['a malformed image digest', ['--set', 'image.digest=sha256:xyz']],
  ])('values.schema.json rejects %s', (_name, args) => {
    const r = helmRun(['template', 'rel', CHART, '--kube-version', KUBE_VERSION, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
  });
});
