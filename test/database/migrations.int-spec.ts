import { loadEnv } from '@lhcms/config';
import { revertLastMigration, runMigrations } from '@lhcms/database';
import { createTestDatabase, testDatabaseUrls, type TestDatabase } from '@lhcms/testing';
import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';

async function connected(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

async function tables(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'typeorm_migrations' ORDER BY 1`,
    );
    return r.rows.map((x: { tablename: string }) => x.tablename);
  } finally {
    await c.end();
  }
}

describe('migrations on a real PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_mig');
  });
  afterAll(() => db.drop());

  const env = () =>
    loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl });

  it('go up, all the way down, and up again', async () => {
    const up = await runMigrations(env());
    expect(up).toHaveLength(MIGRATIONS.length);
    const schema = await tables(db.ownerUrl);
    expect(schema).toContain('cases');

    for (let i = 0; i < MIGRATIONS.length; i++) await revertLastMigration(env());
    expect(await tables(db.ownerUrl)).toEqual([]);

    expect(await runMigrations(env())).toHaveLength(MIGRATIONS.length);
    expect(await tables(db.ownerUrl)).toEqual(schema);
    expect(await runMigrations(env())).toEqual([]);
  });

  it('the application role owns nothing and cannot hard-delete cases', async () => {
    const c = new Client({ connectionString: db.appUrl });
    await c.connect();
    try {
      // A dedicated test connection (never the app's pool): a session-level lab is fine here.
      await c.query(`SET app.lab_id = '1'`);
      const owned = await c.query(
        `SELECT count(*)::int AS n FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
      );
      expect(owned.rows[0].n).toBe(0);
      const ins = await c.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type) VALUES ('1', 'd', 'p', 'other') RETURNING id`,
      );
      await expect(c.query('DELETE FROM cases WHERE id = $1', [ins.rows[0].id])).rejects.toThrow(
        /permission denied/,
      );
      await expect(c.query('TRUNCATE cases')).rejects.toThrow(/permission denied|must be owner/);
      await expect(c.query('DROP TABLE cases')).rejects.toThrow(/must be owner/);
    } finally {
      await c.end();
    }
  });

  it('enforces the enums in the database', async () => {
    const c = new Client({ connectionString: db.appUrl });
    await c.connect();
    try {
      await c.query(`SET app.lab_id = '1'`);
      await expect(
        c.query(
          `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status) VALUES ('1','d','p','other','shipped')`,
        ),
      ).rejects.toThrow(/ck_cases_status/);
      await expect(
        c.query(
          `INSERT INTO cases (lab_id, doctor_id, product_id, case_type) VALUES ('1','d','p','bogus')`,
        ),
      ).rejects.toThrow(/ck_cases_case_type/);
      // The timeline's event types: the case's own and every module's (notes widen the list).
      const own = await connected(db.ownerUrl);
      try {
        const def = await own.query(
          `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'ck_case_events_type'`,
        );
        for (const t of [
          'created',
          'deleted',
          'reopened',
          'note_created',
          'note_edited',
          'note_deleted',
        ])
          expect(def.rows[0].def).toContain(`'${t}'`);
      } finally {
        await own.end();
      }
    } finally {
      await c.end();
    }
  });
});
