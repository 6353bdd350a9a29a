import { loadEnv } from '@lhcms/config';
import { dropDatabase, provisionDatabase, runMigrations, withDatabase } from '@lhcms/database';
import { randomBytes } from 'node:crypto';
import { deriveKey, type DataKey, encryptField, LocalKekProvider, patientRef } from '@lhcms/crypto';
import { Client } from 'pg';
import { dataKeyContext } from '../../apps/api/src/encryption/data-key.service';
import { CASE_COLUMN_NAMES, CASE_TABLE } from '../../apps/api/src/case-model/case.columns';
import { PHI_COLUMNS } from '../../apps/api/src/encryption/phi-cipher';
import { caseInput, rng, SEED_CREATED_BY, SEED_LEAVES, seedRow, type SeedRow } from './seed-data';

/**
 * Fixed keys of the bench deployment, so a reused database stays readable:
 * the SQL seed encrypts PHI exactly as LHCMS does (per-lab data key wrapped
 * by this local KEK, AES-256-GCM, keyed blind index), and LHCMS runs with them.
 */
export const BENCH_SECRET_KEY = 'lhcms-bench-secret-key-0123456789abcdef';
export const BENCH_LOCAL_KEK = Buffer.alloc(32, 0x42).toString('base64');

export const BENCH_OWNER_ROLE = 'lhcms_bench_owner';
export const BENCH_APP_ROLE = 'lhcms_bench_app';
/**
 * The bench roles' password. Roles are cluster-wide and provisioning sets the
 * password of an existing role: `npm run bench` and `bench:audit` (and their
 * smoke tests, which can run at once) must use this one, or each resets the
 * other's.
 */
export const BENCH_ROLE_PASSWORD = 'lhcms-bench-password';

export interface BenchDatabase {
  name: string;
  /** Application role (what LHCMS connects as). */
  appUrl: string;
  /** Schema owner (migrations, the SQL seed). */
  ownerUrl: string;
  /** Superuser on the bench database (fixtures, the raw baseline, statistics). */
  adminDbUrl: string;
  /** Whether the rows still have to be written (fresh database, or seed mode `api`). */
  seeded: boolean;
  seedSeconds: number;
  migrations: string[];
  reused: boolean;
}

export type Log = (line: string) => void;

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Live seeded rows per lab, or undefined when the database or table is missing. */
async function seededCounts(
  adminUrl: string,
  db: string,
  labIds: string[],
): Promise<number[] | undefined> {
  const exists = await withClient(adminUrl, (c) =>
    c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]),
  );
  if (!exists.rowCount) return undefined;
  try {
    return await withClient(withDatabase(adminUrl, db), async (c) => {
      const r = await c.query<{ lab_id: string; n: number }>(
        `SELECT lab_id, count(*)::int AS n FROM cases WHERE lab_id = ANY($1) AND created_by = $2 AND deleted_at IS NULL GROUP BY lab_id`,
        [labIds, SEED_CREATED_BY],
      );
      return labIds.map((id) => r.rows.find((x) => x.lab_id === id)?.n ?? 0);
    });
  } catch {
    return undefined;
  }
}

/** The columns the SQL seed writes, with their SQL types: the catalogue's, less what the seed leaves to the table. */
export const SEED_COLUMNS: ReadonlyArray<readonly [string, string]> = CASE_COLUMN_NAMES.filter(
  (c) => !(SEED_LEAVES as readonly string[]).includes(c),
).map((c) => [c, CASE_TABLE[c].sql]);

type StoredSeedRow = Record<string, unknown> & { lab_id: string; patient_id_bidx: string | null };

/** A lab's data key, stored wrapped under the bench KEK (what LHCMS would create on the lab's first write). */
async function createDataKey(c: Client, labId: string): Promise<DataKey> {
  const kek = new LocalKekProvider(Buffer.from(BENCH_LOCAL_KEK, 'base64'));
  const dk = { version: 1, key: randomBytes(32) };
  const w = await kek.wrap(dk.key, dataKeyContext(labId));
  await c.query(
    `INSERT INTO lab_data_keys (lab_id, key_version, wrapped_key, kek_provider, kek_id) VALUES ($1, 1, $2, 'local', $3)`,
    [labId, w.wrapped, w.kekId],
  );
  return dk;
}

/** The row as LHCMS stores it: every PHI column encrypted, the patient id as its blind index. */
function encryptRow(row: SeedRow, dk: DataKey, blindKey: Buffer): StoredSeedRow {
  const out: Record<string, unknown> = { ...row };
  for (const c of PHI_COLUMNS) {
    const v = out[c.column];
    if (v === null || v === undefined) continue;
    out[c.column] = encryptField(
      dk,
      `${row.lab_id}|${c.column}`,
      c.json || typeof v !== 'string' ? JSON.stringify(v) : v,
    );
  }
  const pid = (row.patient_info as { patient_id?: unknown } | null)?.patient_id;
  out.patient_id_bidx = typeof pid === 'string' ? patientRef(blindKey, row.lab_id, pid) : null;
  return out as StoredSeedRow;
}

const INSERT_SQL = `INSERT INTO cases (${SEED_COLUMNS.map(([c]) => c).join(', ')})
  SELECT ${SEED_COLUMNS.map(([c]) => c).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS t(${SEED_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;

/**
 * Multi-row INSERTs (one jsonb_to_recordset statement per batch) as the owner
 * role, one transaction per lab with `app.lab_id` set the way TenantDb sets
 * it, so that the seed keeps working once row-level security is FORCEd.
 */
async function seedSql(
  ownerUrl: string,
  labIds: string[],
  sizes: number[],
  log: Log,
): Promise<void> {
  const now = new Date();
  const batch = 2000;
  const blindKey = deriveKey(BENCH_SECRET_KEY, 'blind-index');
  await withClient(ownerUrl, async (c) => {
    for (let l = 0; l < labIds.length; l++) {
      const started = Date.now();
      await c.query('BEGIN');
      await c.query(`SELECT set_config('app.lab_id', $1, true)`, [labIds[l]]);
      const dk = await createDataKey(c, labIds[l]);
      for (let i = 0; i < sizes[l]; i += batch) {
        const rows: StoredSeedRow[] = [];
        for (let k = i; k < Math.min(i + batch, sizes[l]); k++)
          rows.push(encryptRow(seedRow(labIds[l], k, sizes[l], now), dk, blindKey));
        await c.query(INSERT_SQL, [JSON.stringify(rows)]);
      }
      await c.query('COMMIT');
      log(
        `seeded lab ${labIds[l]}: ${sizes[l]} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    // Steady state: statistics and the visibility map (index-only counts), as autovacuum would leave them.
    await c.query('VACUUM (ANALYZE) cases');
  });
}

/**
 * The bench database: provisioned with the LHCMS roles, built by the real
 * migrations (as the owner role), then seeded — unless `reuse` finds it
 * already seeded with these sizes.
 */
export async function prepareDatabase(
  o: {
    adminUrl: string;
    name: string;
    labIds: string[];
    sizes: number[];
    reuse: boolean;
    seedMode: 'sql' | 'api';
  },
  log: Log,
): Promise<BenchDatabase> {
  let reused = false;
  if (o.reuse) {
    const counts = await seededCounts(o.adminUrl, o.name, o.labIds);
    reused = counts !== undefined && counts.every((n, i) => n === o.sizes[i]);
    if (reused) log(`reusing database ${o.name} (${counts?.join(' / ')} seeded cases)`);
    else log(`database ${o.name} is missing or seeded differently: rebuilding it`);
  }
  if (!reused) await dropDatabase(o.adminUrl, o.name);
  const db = await provisionDatabase({
    adminUrl: o.adminUrl,
    database: o.name,
    ownerRole: BENCH_OWNER_ROLE,
    ownerPassword: BENCH_ROLE_PASSWORD,
    appRole: BENCH_APP_ROLE,
    appPassword: BENCH_ROLE_PASSWORD,
  });
  const migrations = await runMigrations(
    loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
  );
  if (migrations.length) log(`migrations applied: ${migrations.join(', ')}`);
  const adminDbUrl = withDatabase(o.adminUrl, o.name);
  if (reused) {
    // Rows the previous run created (create/mixed scenarios) would shift the pages: remove them,
    // timelines first. As the owner: case_events refuses DELETE to anyone else, superusers too.
    await withClient(db.ownerUrl, async (c) => {
      const created = `SELECT id FROM cases WHERE lab_id = ANY($1) AND created_by IS DISTINCT FROM $2`;
      await c.query('BEGIN');
      await c.query(`DELETE FROM case_events WHERE case_id IN (${created})`, [
        o.labIds,
        SEED_CREATED_BY,
      ]);
      await c.query(`DELETE FROM idempotency_keys WHERE case_id IN (${created})`, [
        o.labIds,
        SEED_CREATED_BY,
      ]);
      const r = await c.query(
        `DELETE FROM cases WHERE lab_id = ANY($1) AND created_by IS DISTINCT FROM $2`,
        [o.labIds, SEED_CREATED_BY],
      );
      await c.query('COMMIT');
      if (r.rowCount) log(`removed ${r.rowCount} cases created by the previous run`);
    }).catch((err: unknown) => log(`could not remove the previous run's cases: ${String(err)}`));
    return { name: o.name, ...db, adminDbUrl, seeded: true, seedSeconds: 0, migrations, reused };
  }
  if (o.seedMode === 'api') {
    return { name: o.name, ...db, adminDbUrl, seeded: false, seedSeconds: 0, migrations, reused };
  }
  const started = Date.now();
  try {
    await seedSql(db.ownerUrl, o.labIds, o.sizes, log);
  } catch (err) {
    throw new Error(
      `SQL seed failed (${(err as Error).message}); if the schema changed (new NOT NULL columns, encrypted PHI), update ops/bench/seed-db.ts or run with --seed api`,
      { cause: err },
    );
  }
  return {
    name: o.name,
    ...db,
    adminDbUrl,
    seeded: true,
    seedSeconds: (Date.now() - started) / 1000,
    migrations,
    reused,
  };
}

/**
 * The slow, always-valid seed: POST /api/v1/cases through LHCMS (encryption,
 * audit and every future rule apply). Used with `--seed api`.
 */
export async function seedViaApi(
  baseUrl: string,
  labs: Array<{ labId: string; token: string; size: number }>,
  log: Log,
  concurrency = 16,
): Promise<void> {
  for (const lab of labs) {
    const started = Date.now();
    let next = 0;
    let failed = 0;
    const worker = async (w: number) => {
      const r = rng(Number(lab.labId) * 7919 + w);
      for (;;) {
        const i = next++;
        if (i >= lab.size) return;
        const res = await fetch(`${baseUrl}/api/v1/cases/`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${lab.token}`,
            'content-type': 'application/json',
            'x-lab-id': lab.labId,
          },
          body: JSON.stringify(caseInput(r)),
        });
        await res.arrayBuffer();
        if (res.status !== 201 && ++failed > 10)
          throw new Error(`API seed: POST answered ${res.status} (more than 10 failures)`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    log(
      `seeded lab ${lab.labId} through the API: ${lab.size} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
}

/** After an API seed: mark the rows as the seed's (so --reuse-db finds them), then VACUUM/ANALYZE. */
export async function finishApiSeed(adminDbUrl: string, labIds: string[]): Promise<void> {
  await withClient(adminDbUrl, async (c) => {
    await c.query(`UPDATE cases SET created_by = $2 WHERE lab_id = ANY($1)`, [
      labIds,
      SEED_CREATED_BY,
    ]);
    await c.query('VACUUM (ANALYZE) cases');
  });
}
