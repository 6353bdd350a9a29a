import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cleanEnv,
  eventually,
  freePort,
  isProcessAlive,
  request,
  spawnNode,
  type Spawned,
} from '@lhcms/testing';

/**
 * The README's promise, end to end: with no configuration, the real entry
 * point starts an embedded PostgreSQL, applies the migrations, starts ums-dev,
 * answers /health, and stops everything on SIGTERM/SIGINT. A second start in
 * the same folder refuses while the first runs (its lock names its pid); a
 * SIGKILLed run's orphaned PostgreSQL is found and stopped by the next start.
 */
describe('npm start with the embedded default', () => {
  let dataDir: string;
  let ports: { api: number; ums: number; pg: number };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-embedded-e2e-'));
    fs.chmodSync(dataDir, 0o711);
    ports = { api: await freePort(), ums: await freePort(), pg: await freePort() };
  });

  const started: Spawned[] = [];
  afterAll(async () => {
    // A failed test may leave a run behind: it would keep Jest (and a postgres) alive.
    for (const s of started) {
      if (s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill('SIGKILL');
        await s.exited;
      }
    }
    const pid = postmasterPid();
    if (pid && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function start(): Spawned {
    const s = spawnNode(
      'dist/apps/api/src/main.js',
      cleanEnv({
        LHCMS_DATA_DIR: dataDir,
        PORT: String(ports.api),
        UMS_DEV_PORT: String(ports.ums),
        EMBEDDED_PG_PORT: String(ports.pg),
        LOG_LEVEL: 'warn',
      }),
    );
    started.push(s);
    return s;
  }

  function postmasterPid(): number | undefined {
    const f = path.join(dataDir, 'postgres', 'postmaster.pid');
    if (!fs.existsSync(f)) return undefined;
    return Number(fs.readFileSync(f, 'utf8').split('\n')[0]);
  }

  /** The owner lock: the pid of the LHCMS process that runs the folder's PostgreSQL. */
  const lockFile = () => path.join(dataDir, 'postgres.lock');
  const lockPid = () => Number(fs.readFileSync(lockFile(), 'utf8').trim());

  const api = () => `http://127.0.0.1:${ports.api}`;
  const ums = () => `http://127.0.0.1:${ports.ums}`;

  async function waitHealthy(s: Spawned): Promise<void> {
    await eventually(
      async () => {
        if (s.child.exitCode !== null) throw new Error(`exited early:\n${s.output()}`);
        return (await request(api(), '/health').catch(() => ({ status: 0 }))).status === 200;
      },
      60_000,
      '/health 200',
    );
  }

  it('serves /health within 60 s, prints the logins, and SIGTERM leaves no postgres behind', async () => {
    const s = start();
    await waitHealthy(s);
    expect(s.output()).toMatch(/embedded PostgreSQL 17/);
    expect(s.output()).toMatch(/admin \/ admin123/);
    const pgPid = postmasterPid();
    expect(pgPid && isProcessAlive(pgPid)).toBeTruthy();

    // A client written for the original LHCMS: login at the UMS, /health on both
    // services, list, then create a fixed-prosthetic case whose shade has no shade_id.
    const login = await request(ums(), '/api/auth/login', {
      method: 'POST',
      body: { username: 'admin', password: 'admin123' },
    });
    expect(login.status).toBe(200);
    const token = login.body.access_token;
    expect((await request(ums(), '/api/auth/me', { token })).status).toBe(200);
    expect((await request(ums(), '/health')).status).toBe(200);
    const health = await request(api(), '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'healthy', service: 'case_service' });
    expect((await request(api(), '/api/v1/cases/', { token })).status).toBe(200);
    const created = await request(api(), '/api/v1/cases/', {
      method: 'POST',
      token,
      body: {
        doctor_id: 'DOC001',
        product_id: 'PROD001',
        case_type: 'fixed_prosthetic',
        case_name: 'Upper crown',
        patient_info: { patient_id: 'PAT001', age: 45, gender: 'male' },
        fixed_prosthetic: {
          type: 'crown',
          material: 'zirconia',
          tooth_numbers: [14],
          shade: { shade_system: 'vita_classical', shade_value: 'A2' },
        },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');

    // An attachment, with no storage configured: stored encrypted under LHCMS_DATA_DIR, served back
    // byte-identical.
    const pdf = Buffer.from(
      '%PDF-1.4\n% EMBEDDED-ATTACHMENT-PLAINTEXT-MARKER\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n',
    );
    const form = new FormData();
    form.append('file', new Blob([pdf]), 'crown.pdf');
    const base = `${api()}/api/v1/cases/${created.body.id}/attachments`;
    const up = await fetch(base, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    const got = await fetch(`${base}/${id}/content`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(pdf)).toBe(true);
    const stored = fs
      .readdirSync(path.join(dataDir, 'attachments'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name)));
    expect(stored.length).toBeGreaterThan(0);
    for (const b of stored) expect(b.includes('EMBEDDED-ATTACHMENT-PLAINTEXT-MARKER')).toBe(false);

    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(isProcessAlive(pgPid!)).toBe(false);
  });

  it('a second start in the same folder refuses, naming the running one, and leaves its PostgreSQL alone', async () => {
    const first = start();
    await waitHealthy(first);
    const pgPid = postmasterPid()!;

    const second = start();
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toContain(
      `belongs to LHCMS pid ${first.child.pid}, which is still running`,
    );
    expect(second.output()).not.toMatch(/left running by an earlier run/);
    // The first keeps its PostgreSQL and its lock, and serves on.
    expect(postmasterPid()).toBe(pgPid);
    expect(isProcessAlive(pgPid)).toBe(true);
    expect((await request(api(), '/health')).status).toBe(200);
    expect((await request(api(), '/health/ready')).status).toBe(200);
    expect(lockPid()).toBe(first.child.pid);

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(isProcessAlive(pgPid)).toBe(false);
    expect(fs.existsSync(lockFile())).toBe(false); // a clean stop releases the folder
  });

  it('recovers from a SIGKILLed run whose postgres was left running, and Ctrl-C stops cleanly', async () => {
    const first = start();
    await waitHealthy(first);
    const orphan = postmasterPid()!;
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isProcessAlive(orphan)).toBe(true); // the stale postmaster a crash leaves behind
    expect(lockPid()).toBe(first.child.pid); // and its lock, naming a dead process

    const second = start();
    await waitHealthy(second);
    expect(second.output()).toContain(
      `from LHCMS pid ${first.child.pid}, which is no longer running`,
    );
    expect(second.output()).toMatch(/left running by an earlier run/);
    expect(isProcessAlive(orphan)).toBe(false);
    const fresh = postmasterPid()!;
    expect(fresh).not.toBe(orphan);
    expect(lockPid()).toBe(second.child.pid);

    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
    expect(isProcessAlive(fresh)).toBe(false);
    expect(fs.existsSync(lockFile())).toBe(false);
  });
});
