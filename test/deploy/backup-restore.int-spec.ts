import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { dropDatabase, runMigrations } from '@lhcms/database';
import {
  createTestDatabase,
  PROJECT_ROOT,
  startClusterForPgDump,
  startStack,
  TEST_SECRET_KEY,
  type TestCluster,
  type TestDatabase,
  testDatabaseUrls,
} from '@lhcms/testing';
import { Client } from 'pg';

/**
 * ops/backup_database.sh -> restore_database.sh -> restore_drill.sh against a
 * PostgreSQL the machine's pg_dump can dump (the run's own server, or a
 * throwaway one of pg_dump's version: startClusterForPgDump): a migrated LHCMS database with cases rows is dumped,
 * verified, "uploaded" (a recording aws stub), restored into a new database
 * and compared table by table. Connections go through the libpq environment
 * only, as the scripts require.
 */
const OPS = path.join(PROJECT_ROOT, 'ops');

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Superuser URL of the server the backups run on (set in beforeAll). */
let adminUrl: string;

function dbUrl(database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Exact rows per table (schema-qualified), as the drill computes them. */
async function rowCounts(database: string): Promise<Record<string, number>> {
  return withClient(dbUrl(database), async (c) => {
    const tables = await c.query<{ t: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
       WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const out: Record<string, number> = {};
    for (const { t } of tables.rows)
      out[t] = Number((await c.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
    return out;
  });
}

describe('backup, restore and restore drill (ops/*.sh) on a real PostgreSQL', () => {
  let cluster: (TestCluster & { description: string }) | undefined;
  let source: TestDatabase;
  let work: string;
  let backupDir: string;
  let metricsDir: string;
  let stubDir: string;
  let checkpoints: string;
  const restored: string[] = [];
  let env: NodeJS.ProcessEnv;

  function sh(script: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}) {
    const r = spawnSync('bash', [path.join(OPS, script), ...args], {
      env: { ...env, ...extra },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
  }

  beforeAll(async () => {
    cluster = await startClusterForPgDump(testDatabaseUrls().adminUrl);
    process.stdout.write(`[backup-restore] on ${cluster.description}\n`);
    adminUrl = cluster.adminUrl;
    const admin = new URL(adminUrl);
    source = await createTestDatabase(admin.toString(), 'lhcms_bak');
    await runMigrations(
      loadEnv({
        NODE_ENV: 'test',
        DATABASE_URL: source.appUrl,
        DATABASE_OWNER_URL: source.ownerUrl,
      }),
    );
    // As the owner: row-level security lets the application role write only its current lab.
    await withClient(source.ownerUrl, async (c) => {
      for (let i = 0; i < 25; i++) {
        await c.query(
          `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, case_name, description, patient_info, deleted_at)
           VALUES ($1, $2, 'p1', 'fixed_prosthetic', $3, $4, $5, $6)`,
          [
            String(1 + (i % 2)),
            `doc-${i}`,
            `Crown ${i}`,
            // Tabs, newlines and backslashes survive COPY and do not skew the row counts.
            `line one\nline two\t\\ ${i}`,
            JSON.stringify({ name: `Patient ${i}`, dob: '1980-01-01' }),
            i === 24 ? new Date().toISOString() : null,
          ],
        );
      }
    });

    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-backup-'));
    // Audited traffic through the API, then a seal: the dump carries audit rows,
    // their hash chain and a signed checkpoint, which the drill verifies.
    checkpoints = path.join(work, 'audit-checkpoints');
    const auditEnv = {
      DATABASE_URL: source.appUrl,
      DATABASE_OWNER_URL: source.ownerUrl,
      AUDIT_CHECKPOINT_DIR: checkpoints,
    };
    const stack = await startStack({ env: auditEnv });
    try {
      const id = (
        await stack.as('admin', '/api/v1/cases/', {
          method: 'POST',
          body: { doctor_id: 'audited', product_id: 'p', case_type: 'other' },
        })
      ).body.id;
      await stack.as('viewer', `/api/v1/cases/${id}`);
      await stack.as('viewer', '/api/v1/cases/');
    } finally {
      await stack.close();
    }
    // A seal chains only rows older than every transaction still open on the server (the
    // cluster's, other suites' included): on a busy server a round may chain nothing yet, so
    // seal until every audit row is chained (or 30 s), as the sealer's next rounds would.
    for (let round = 0; ; round++) {
      const seal = spawnSync(
        process.execPath,
        [path.join(PROJECT_ROOT, 'dist/apps/api/src/cli.js'), 'audit', 'seal'],
        {
          env: {
            PATH: process.env.PATH,
            NODE_ENV: 'test',
            SECRET_KEY: TEST_SECRET_KEY,
            ...auditEnv,
          },
          encoding: 'utf8',
        },
      );
      expect(seal.status).toBe(0);
      const n = await rowCounts(source.name);
      if (n['public.audit_chain'] === n['public.audit_events'] || round >= 60) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    backupDir = path.join(work, 'backups');
    metricsDir = path.join(work, 'textfile');
    stubDir = path.join(work, 'bin');
    fs.mkdirSync(stubDir);
    // A recording `aws` CLI: the upload step's arguments land in aws.log.
    fs.writeFileSync(
      path.join(stubDir, 'aws'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${work}/aws.log"\n`,
      { mode: 0o755 },
    );
    env = {
      PATH: `${stubDir}:${process.env.PATH}`,
      HOME: process.env.HOME,
      PGHOST: admin.hostname,
      PGPORT: admin.port || '5432',
      PGUSER: decodeURIComponent(admin.username) || 'postgres',
      ...(admin.password ? { PGPASSWORD: decodeURIComponent(admin.password) } : {}),
      PGDATABASE: source.name,
      BACKUP_DIR: backupDir,
      METRICS_TEXTFILE_DIR: metricsDir,
      BACKUP_S3_URI: 's3://lhcms-backups/prod/',
      RETENTION_DAYS: '30',
      LHCMS_HOME: PROJECT_ROOT,
    };
  }, 120_000);

  afterAll(async () => {
    if (adminUrl) {
      for (const db of restored) await dropDatabase(adminUrl, db).catch(() => undefined);
      await source?.drop();
    }
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  let dump: string;

  it('backs up: pg_dump -Fc, verified, checksummed, uploaded, retention applied, last-success metric written', () => {
    fs.mkdirSync(backupDir, { recursive: true });
    const old = path.join(backupDir, 'lhcms_old_20000101T000000Z.pgdump');
    const recent = path.join(backupDir, 'lhcms_recent_20990101T000000Z.pgdump');
    const foreign = path.join(backupDir, 'someone-elses.pgdump');
    for (const f of [old, recent, foreign]) fs.writeFileSync(f, 'x');
    const fortyDaysAgo = new Date(Date.now() - 40 * 86400_000);
    fs.utimesSync(old, fortyDaysAgo, fortyDaysAgo);
    fs.utimesSync(foreign, fortyDaysAgo, fortyDaysAgo);

    const before = Math.floor(Date.now() / 1000);
    const r = sh('backup_database.sh');
    expect(r.code).toBe(0);
    dump = r.stdout.trim().split('\n').at(-1)!;
    expect(dump).toMatch(new RegExp(`^${backupDir}/lhcms_${source.name}_\\d{8}T\\d{6}Z\\.pgdump$`));
    // Custom format (PGDMP magic), not plain SQL.
    expect(fs.readFileSync(dump).subarray(0, 5).toString()).toBe('PGDMP');
    expect((fs.statSync(dump).mode & 0o777).toString(8)).toBe('600');
    const sum = spawnSync('sha256sum', [dump], { encoding: 'utf8' }).stdout.split(' ')[0];
    expect(fs.readFileSync(`${dump}.sha256`, 'utf8')).toContain(sum);
    expect(fs.readFileSync(`${dump}.rowcounts`, 'utf8')).toContain('public.cases\t26\n');

    const uploads = fs.readFileSync(path.join(work, 'aws.log'), 'utf8').trim().split('\n');
    expect(uploads).toContain(
      `s3 cp --only-show-errors --sse aws:kms ${dump} s3://lhcms-backups/prod/${path.basename(dump)}`,
    );
    expect(uploads).toHaveLength(3);

    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(recent)).toBe(true);
    expect(fs.existsSync(foreign)).toBe(true);

    const metric = fs.readFileSync(path.join(metricsDir, 'lhcms_backup.prom'), 'utf8');
    const m = new RegExp(
      `^lhcms_backup_last_success_timestamp_seconds\\{database="${source.name}"\\} (\\d+)$`,
      'm',
    ).exec(metric);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(before);
    expect(r.stderr).toMatch(/backup ok database=/);
    fs.rmSync(recent);
  }, 120_000);

  it('restores into a new database with the same rows in every table', async () => {
    const target = `${source.name}_restored`;
    restored.push(target);
    const r = sh('restore_database.sh', [dump, target], { PGDATABASE: 'postgres' });
    expect(r.out).toMatch(/checksum ok/);
    expect(r.code).toBe(0);
    const want = await rowCounts(source.name);
    expect(want['public.cases']).toBe(26);
    expect(want['public.audit_events']).toBeGreaterThanOrEqual(3);
    expect(want['public.audit_chain']).toBe(want['public.audit_events']);
    expect(await rowCounts(target)).toEqual(want);
    const row = await withClient(dbUrl(target), (c) =>
      c.query(`SELECT description, patient_info FROM cases WHERE doctor_id = 'doc-3'`),
    );
    // Stored values come back byte for byte (the PHI columns are text: ciphertext or, here, seeded plaintext).
    expect({ ...row.rows[0], patient_info: JSON.parse(row.rows[0].patient_info) }).toEqual({
      description: 'line one\nline two\t\\ 3',
      patient_info: { name: 'Patient 3', dob: '1980-01-01' },
    });
    // Ownership, grants and row-level security came along: the application role
    // sees no row without a lab, its lab's rows with one, and still cannot delete.
    const appUrl = new URL(source.appUrl);
    appUrl.pathname = `/${target}`;
    await withClient(appUrl.toString(), async (c) => {
      const rls = await c.query(
        `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE relname = 'cases'`,
      );
      const count = async () =>
        Number((await c.query('SELECT count(*) AS n FROM cases')).rows[0].n);
      if (rls.rows[0].enabled) {
        expect(await count()).toBe(0);
        await c.query('BEGIN');
        await c.query(`SELECT set_config('app.lab_id', '1', true)`);
        expect(await count()).toBe(13);
        await c.query('COMMIT');
      } else {
        expect(await count()).toBe(25);
      }
      await expect(c.query('DELETE FROM cases')).rejects.toThrow(/permission denied/);
    });
  }, 120_000);

  it('never restores over an existing database, a tampered dump, or credentials given as arguments', () => {
    const over = sh('restore_database.sh', [dump, source.name], { PGDATABASE: 'postgres' });
    expect(over.code).not.toBe(0);
    expect(over.out).toMatch(/exists: restore into a new database only/);

    const tampered = path.join(work, 'tampered.pgdump');
    fs.copyFileSync(dump, tampered);
    fs.copyFileSync(`${dump}.sha256`, `${tampered}.sha256`);
    fs.appendFileSync(tampered, 'x');
    const bad = sh('restore_database.sh', [tampered, `${source.name}_tampered`], {
      PGDATABASE: 'postgres',
    });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/checksum mismatch/);

    const secret = sh('restore_database.sh', [dump, 'postgresql://postgres:hunter2@127.0.0.1/x']);
    expect(secret.code).not.toBe(0);
    expect(secret.out).toMatch(/credentials are not accepted as arguments/);
  });

  it("the verification's full read catches a corrupted data block that pg_restore --list still accepts", () => {
    const truncated = path.join(work, 'corrupted.pgdump');
    const bytes = Buffer.from(fs.readFileSync(dump));
    // Garble the first compressed data block (zlib level 9 header 78 da); the table of contents stays intact.
    const block = bytes.indexOf(Buffer.from([0x78, 0xda]));
    expect(block).toBeGreaterThan(0);
    bytes.fill(0x5a, block + 6, block + 22);
    fs.writeFileSync(truncated, bytes);
    const list = spawnSync('pg_restore', ['--list', truncated], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    const read = spawnSync(
      'bash',
      ['-c', `set -euo pipefail; source "${OPS}/lib.sh"; archive_row_counts "$1"`, 'x', truncated],
      { encoding: 'utf8' },
    );
    expect(read.status).not.toBe(0);
  });

  it('the restore drill restores into a scratch database, matches the archive and the source, and drops it', async () => {
    const drills = () =>
      withClient(adminUrl, async (c) =>
        (
          await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'lhcms_drill_%'`)
        ).rows.map((r: { datname: string }) => r.datname),
      );
    const before = await drills();
    const r = sh('restore_drill.sh', [], {
      PGDATABASE: 'postgres',
      DRILL_SOURCE_DATABASE: source.name,
      // The deployment's audit key and checkpoints, as the drill runs with them in production.
      SECRET_KEY: TEST_SECRET_KEY,
      AUDIT_CHECKPOINT_DIR: checkpoints,
      DRILL_REQUIRE_AUDIT_VERIFY: '1',
    });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/row counts match the archive: \d+ tables, \d+ rows/);
    expect(r.out).toMatch(new RegExp(`row counts match the source database ${source.name}`));
    expect(r.out).toMatch(/audit chain verified on the restored database/);
    expect(r.out).toMatch(/drill ok/);
    expect(
      fs.readFileSync(path.join(metricsDir, 'lhcms_backup_restore_drill.prom'), 'utf8'),
    ).toMatch(/^lhcms_backup_restore_drill_last_success_timestamp_seconds \d+$/m);
    expect(await drills()).toEqual(before);
  }, 120_000);

  it('the drill fails when the restored rows differ from the source', async () => {
    await withClient(source.ownerUrl, (c) =>
      c.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type) VALUES ('1', 'late', 'p', 'other')`,
      ),
    );
    const r = sh('restore_drill.sh', [dump], {
      PGDATABASE: 'postgres',
      DRILL_SOURCE_DATABASE: source.name,
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/public\.cases\t26/);
    expect(r.out).toMatch(/differ from/);
  }, 120_000);
});
