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
 * answers /health, and stops everything on SIGTERM/SIGINT. A SIGKILLed run's
 * orphaned PostgreSQL is found and stopped by the next start.
 */
describe('npm start with the embedded default', () => {
  let dataDir: string;
  let ports: { api: number; ums: number; pg: number };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-embedded-e2e-'));
    fs.chmodSync(dataDir, 0o711);
    ports = { api: await freePort(), ums: await freePort(), pg: await freePort() };
  });

  afterAll(() => {
    const pid = postmasterPid();
    if (pid && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function start(): Spawned {
    return spawnNode(
      'dist/apps/api/src/main.js',
      cleanEnv({
        LHCMS_DATA_DIR: dataDir,
        PORT: String(ports.api),
        UMS_DEV_PORT: String(ports.ums),
        EMBEDDED_PG_PORT: String(ports.pg),
        LOG_LEVEL: 'warn',
      }),
    );
  }

  function postmasterPid(): number | undefined {
    const f = path.join(dataDir, 'postgres', 'postmaster.pid');
    if (!fs.existsSync(f)) return undefined;
    return Number(fs.readFileSync(f, 'utf8').split('\n')[0]);
  }

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

    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(isProcessAlive(pgPid!)).toBe(false);
  });

  it('recovers from a SIGKILLed run whose postgres was left running, and Ctrl-C stops cleanly', async () => {
    const first = start();
    await waitHealthy(first);
    const orphan = postmasterPid()!;
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isProcessAlive(orphan)).toBe(true); // the stale postmaster a crash leaves behind

    const second = start();
    await waitHealthy(second);
    expect(second.output()).toMatch(/left running by an earlier run/);
    expect(isProcessAlive(orphan)).toBe(false);
    const fresh = postmasterPid()!;
    expect(fresh).not.toBe(orphan);

    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
    expect(isProcessAlive(fresh)).toBe(false);
  });
});
