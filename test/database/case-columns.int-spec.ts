import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import { createTestDatabase, testDatabaseUrls, type TestDatabase } from '@lhcms/testing';
import { Client } from 'pg';
import {
  CASE_COLUMN_NAMES,
  CASE_TABLE,
  WRITABLE_COLUMNS,
} from '../../apps/api/src/case-model/case.columns';
import { CASE_COLUMNS } from '../../apps/api/src/cases/cases.repository';

/** A row of information_schema.columns (what the comparison reads). */
interface DbColumn {
  column_name: string;
  data_type: string;
  character_maximum_length: number | null;
  is_nullable: 'YES' | 'NO';
}

/** The column's type in the catalogue's notation (`varchar(50)`, `timestamptz`, …). */
function sqlTypeOf(c: DbColumn): string {
  switch (c.data_type) {
    case 'character varying':
      return c.character_maximum_length === null
        ? 'varchar'
        : `varchar(${c.character_maximum_length})`;
    case 'timestamp with time zone':
      return 'timestamptz';
    default:
      return c.data_type;
  }
}

/** Where the table and the catalogue disagree: one line per column and fact. */
function catalogueDifferences(columns: DbColumn[]): string[] {
  const out: string[] = [];
  const catalogue = CASE_TABLE as Record<string, { sql: string; nullable: boolean }>;
  for (const c of columns) {
    const spec = catalogue[c.column_name];
    if (!spec) {
      out.push(`${c.column_name}: in the table, not in the catalogue`);
      continue;
    }
    if (sqlTypeOf(c) !== spec.sql)
      out.push(`${c.column_name}: type ${sqlTypeOf(c)} in the table, ${spec.sql} in the catalogue`);
    if ((c.is_nullable === 'YES') !== spec.nullable)
      out.push(
        `${c.column_name}: ${c.is_nullable === 'YES' ? 'nullable' : 'NOT NULL'} in the table, not in the catalogue`,
      );
  }
  const inTable = new Set(columns.map((c) => c.column_name));
  for (const n of CASE_COLUMN_NAMES)
    if (!inTable.has(n)) out.push(`${n}: in the catalogue, not in the table`);
  return out;
}

async function columnsOf(c: Client): Promise<DbColumn[]> {
  const r = await c.query<DbColumn>(
    `SELECT column_name, data_type, character_maximum_length, is_nullable
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'cases'
      ORDER BY ordinal_position`,
  );
  return r.rows;
}

describe('the cases table and its column catalogue', () => {
  let db: TestDatabase;
  let owner: Client;
  beforeAll(async () => {
    // A database of its own: the scratch DDL below must not lock the run's shared `cases`.
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_cols');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await db?.drop();
  });

  it('the migrated table has exactly the catalogue’s columns, types and nullability, in its order', async () => {
    const columns = await columnsOf(owner);
    expect(catalogueDifferences(columns)).toEqual([]);
    expect(columns.map((c) => c.column_name)).toEqual(CASE_COLUMN_NAMES);
  });

  it('a migration that adds, retypes, constrains or drops a column makes the comparison fail', async () => {
    await owner.query('BEGIN');
    try {
      await owner.query(`ALTER TABLE cases ADD COLUMN scratch_notes text`);
      await owner.query(`ALTER TABLE cases ALTER COLUMN stage TYPE varchar(60)`);
      await owner.query(`ALTER TABLE cases ALTER COLUMN assigned_to SET NOT NULL`);
      await owner.query(`ALTER TABLE cases DROP COLUMN rush_order`);
      expect(catalogueDifferences(await columnsOf(owner)).sort()).toEqual([
        'assigned_to: NOT NULL in the table, not in the catalogue',
        'rush_order: in the catalogue, not in the table',
        'scratch_notes: in the table, not in the catalogue',
        'stage: type varchar(60) in the table, varchar(50) in the catalogue',
      ]);
    } finally {
      await owner.query('ROLLBACK');
    }
    expect(catalogueDifferences(await columnsOf(owner))).toEqual([]);
  });

  it('the derived select list and writable columns run against the table', async () => {
    await owner.query('BEGIN');
    try {
      await owner.query(`SELECT set_config('app.lab_id', '1', true)`);
      const cols = [...WRITABLE_COLUMNS];
      const values = cols.map((c) => {
        const sql = (CASE_TABLE as Record<string, { sql: string }>)[c].sql;
        if (c === 'status') return 'pending';
        if (c === 'priority') return 'low';
        if (c === 'case_type') return 'other';
        if (c === 'remake_responsibility') return 'lab';
        // The only writable integer is remake_of, a foreign key: NULL (not a remake).
        if (sql === 'integer') return null;
        return sql === 'boolean' ? true : sql === 'date' ? '2026-12-24' : 'x';
      });
      const r = await owner.query(
        `INSERT INTO cases (lab_id, ${cols.join(', ')}) VALUES ('1', ${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${CASE_COLUMNS}`,
        values,
      );
      expect(r.rows[0]).toEqual(expect.objectContaining({ due_date: '2026-12-24', version: 1 }));
      expect(r.rows[0].created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    } finally {
      await owner.query('ROLLBACK');
    }
  });

  it('migration:generate is refused: migrations are written by hand (there is no entity model)', () => {
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, ['scripts/typeorm.mjs', 'migration:generate', 'x'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/written by hand.*migration:create/);
  });
});
