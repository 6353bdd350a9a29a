import { randomUUID } from 'node:crypto';
import {
  cleanEnv,
  eventually,
  freePort,
  isolatedSeed,
  loginSeedUser,
  request,
  spawnNode,
  type Spawned,
  startTestUms,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
  testDatabaseUrls,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import type { Client } from 'pg';
import { superuserClient } from './audit-test-helpers';

const MARKER = 'PHI-MARKER-Load-Logs-9087';

/**
 * The real server process (`node dist/apps/api/src/main.js`) with its
 * application logs and the audit stream on stdout: under 50 concurrent
 * clients every acknowledged request has its audit row, every audit row is
 * shipped as one `"log":"audit"` line, and a seeded PHI marker appears in
 * neither the audit rows nor any log line.
 */
describe('audit under load, and what the logs carry (e2e, real process)', () => {
  let ums: UmsDevServer;
  let api: Spawned;
  let url: string;
  let su: Client;
  let lab1: string;

  beforeAll(async () => {
    const { seed, labs } = isolatedSeed();
    lab1 = String(labs.lab1);
    ums = await startTestUms({ seed });
    const port = await freePort();
    const db = testDatabaseUrls();
    api = spawnNode(
      'dist/apps/api/src/main.js',
      cleanEnv({
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.appUrl,
        DATABASE_OWNER_URL: db.ownerUrl,
        DB_MIGRATE_ON_START: 'false',
        UMS_BASE_URL: ums.url,
        JWT_SECRET_KEY: TEST_JWT_SECRET,
        SECRET_KEY: TEST_SECRET_KEY,
        ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
        // 400 requests by a handful of users in a second: no per-user limit in this test.
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'info',
        AUDIT_LOG_DESTINATION: 'stdout',
        AUDIT_CHECKPOINT_DIR: process.env.LHCMS_TEST_CHECKPOINT_DIR ?? '',
        DB_POOL_SIZE: '10',
        // 50 clients on 10 connections of a shared machine: every request is served (no load
        // shedding), which is what this test counts audit rows of.
        DB_POOL_TIMEOUT: '30',
      }),
    );
    url = `http://127.0.0.1:${port}`;
    await eventually(
      async () => (await request(url, '/health').catch(() => ({ status: 0 }))).status === 200,
      30_000,
      'the API process',
    );
    su = await superuserClient();
  });

  afterAll(async () => {
    await su?.end();
    api?.child.kill('SIGTERM');
    await api?.exited;
    await ums?.close();
  });

  it('50 concurrent clients: every acknowledged request has exactly its audit row; no PHI in rows or logs', async () => {
    const admin = await loginSeedUser(ums.url, 'admin');
    const tech = await loginSeedUser(ums.url, 'tech');
    const created = await request(url, '/api/v1/cases/', {
      method: 'POST',
      token: admin,
      body: {
        doctor_id: 'load-doc',
        product_id: 'p',
        case_type: 'other',
        case_name: MARKER,
        special_instructions: MARKER,
        patient_info: { patient_id: MARKER, medical_history: MARKER },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;

    const sent: Array<{ rid: string; status: number }> = [];
    const client = async (n: number) => {
      for (let i = 0; i < 8; i++) {
        const rid = `load-${n}-${i}-${randomUUID()}`;
        const kind = (n + i) % 4;
        const res =
          kind === 0
            ? await request(url, `/api/v1/cases/${id}`, {
                token: admin,
                headers: { 'x-request-id': rid },
              })
            : kind === 1
              ? await request(url, '/api/v1/cases/?doctor_id=load-doc', {
                  token: tech,
                  headers: { 'x-request-id': rid },
                })
              : kind === 2
                ? await request(url, `/api/v1/cases/${id}`, {
                    method: 'PUT',
                    token: tech,
                    headers: { 'x-request-id': rid },
                    body: {
                      priority: i % 2 ? 'high' : 'low',
                      special_instructions: `${MARKER} ${i}`,
                    },
                  })
                : await request(url, `/api/v1/cases/${id}`, { headers: { 'x-request-id': rid } });
        sent.push({ rid, status: res.status });
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, n) => client(n)));

    const acknowledged = sent.filter((r) => r.status >= 200 && r.status < 300);
    expect(acknowledged.length).toBeGreaterThan(250);
    expect(sent.filter((r) => r.status === 401)).toHaveLength(100); // the anonymous quarter
    const rows = await su.query(
      `SELECT request_id, outcome, http_status FROM audit_events WHERE request_id = ANY($1::text[])`,
      [sent.map((r) => r.rid)],
    );
    const byRid = new Map(rows.rows.map((r) => [r.request_id, r]));
    // Exactly one row per request, acknowledged or refused, with the status the client saw.
    expect(rows.rows).toHaveLength(sent.length);
    for (const r of sent) expect(byRid.get(r.rid)?.http_status).toBe(r.status);
    expect(rows.rows.filter((r) => r.outcome === 'success')).toHaveLength(acknowledged.length);

    const all = await su.query(
      `SELECT to_jsonb(a)::text AS j FROM audit_events a WHERE lab_id = $1`,
      [lab1],
    );
    for (const r of all.rows) expect(r.j).not.toContain(MARKER);

    // The audit stream: one "log":"audit" line per row, shipped after commit; app logs alongside.
    await eventually(
      async () =>
        sent.every((r) => api.output().includes(`"request_id":"${r.rid}"`)) ? true : undefined,
      10_000,
      'audit lines of every request',
    );
    const lines = api
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const auditLines = lines.filter((l) => l.log === 'audit');
    for (const r of sent) {
      expect(auditLines.filter((l) => l.request_id === r.rid)).toHaveLength(1);
    }
    expect(lines.some((l) => l.log !== 'audit' && l.msg === 'request completed')).toBe(true); // request logs are there too
    expect(api.output()).not.toContain(MARKER);
  });
});
