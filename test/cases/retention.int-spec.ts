import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import { createTestDatabase, testDatabaseUrls, type TestDatabase } from '@lhcms/testing';
import { Client } from 'pg';
import { purgeExpiredCases } from '../../apps/api/src/cases/case-retention';

/** `lhcms retention purge` on its own database (it works across labs, as the owner). */
describe('case retention purge', () => {
  let db: TestDatabase;
  let owner: Client;
  const ids: Record<string, number> = {};
  const env = () =>
    loadEnv({
      NODE_ENV: 'test',
      DATABASE_URL: db.appUrl,
      DATABASE_OWNER_URL: db.ownerUrl,
      DATA_RETENTION_DAYS: '30',
    });

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_retention');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    const add = async (
      name: string,
      lab: string,
      status: string,
      updatedDaysAgo: number,
      deletedDaysAgo: number | null,
    ) => {
      const r = await owner.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, created_at, updated_at, deleted_at)
         VALUES ($1, $2, 'p', 'other', $3, now() - make_interval(days => $4), now() - make_interval(days => $4),
                 CASE WHEN $5::int IS NULL THEN NULL ELSE now() - make_interval(days => $5::int) END)
         RETURNING id`,
        [lab, name, status, updatedDaysAgo, deletedDaysAgo],
      );
      ids[name] = r.rows[0].id;
      await owner.query(
        `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id) VALUES ($1, $2, 'created', 'u1')`,
        [lab, ids[name]],
      );
      // A note with its revision: it goes with its case (ON DELETE CASCADE).
      const note = await owner.query(
        `INSERT INTO case_notes (lab_id, case_id, author_id, visibility, body)
         VALUES ($1, $2, 'u1', 'internal', 'enc:v1:x') RETURNING id`,
        [lab, ids[name]],
      );
      await owner.query(
        `INSERT INTO case_note_revisions (lab_id, note_id, revision, author_id, visibility, body)
         VALUES ($1, $2, 1, 'u1', 'internal', 'enc:v1:x')`,
        [lab, note.rows[0].id],
      );
    };
    await add('old-deleted', '1', 'pending', 400, 90);
    await add('old-completed', '2', 'completed', 90, null);
    await add('old-cancelled', '1', 'cancelled', 40, null);
    await add('old-but-open', '1', 'in_progress', 400, null);
    await add('recently-deleted', '2', 'pending', 400, 5);
    await add('recently-completed', '1', 'completed', 10, null);
    // A recent remake of a case the purge removes: it stays, and only loses its link.
    const remake = await owner.query(
      `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, remake_of, remake_reason,
                          remake_responsibility, remake_chargeable)
       VALUES ('2', 'remake-of-old', 'p', 'other', 'pending', $1, 'fit', 'lab', false) RETURNING id`,
      [ids['old-completed']],
    );
    ids['remake-of-old'] = remake.rows[0].id;
    await owner.query(
      `INSERT INTO idempotency_keys (lab_id, user_id, key, request_hash, case_id, created_at)
       VALUES ('1', 'u1', 'old-key', repeat('a', 64), $1, now() - interval '2 days'),
              ('1', 'u1', 'fresh-key', repeat('b', 64), $2, now())`,
      [ids['old-but-open'], ids['recently-completed']],
    );
  });
  afterAll(async () => {
    await owner.end();
    await db.drop();
  });

  const remaining = async () =>
    (await owner.query(`SELECT doctor_id FROM cases ORDER BY doctor_id`)).rows.map(
      (r: { doctor_id: string }) => r.doctor_id,
    );

  it('refuses to run as the application role (row-level security would hide every case)', async () => {
    const asApp = loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATA_RETENTION_DAYS: '30' });
    await expect(purgeExpiredCases(asApp)).rejects.toThrow(/DATABASE_OWNER_URL/);
    expect(await remaining()).toHaveLength(7);
  });

  it('a dry run counts without deleting', async () => {
    const r = await purgeExpiredCases(env(), { dryRun: true });
    expect(r).toMatchObject({ cases: 3, events: 3, idempotencyKeys: 1, dryRun: true });
    expect(await remaining()).toHaveLength(7);
  });

  it('removes deleted and closed cases past retention with their timelines, never open or recent ones, and audits itself', async () => {
    const r = await purgeExpiredCases(env());
    expect(r).toMatchObject({ cases: 3, events: 3, idempotencyKeys: 1, dryRun: false });
    expect(await remaining()).toEqual([
      'old-but-open',
      'recently-completed',
      'recently-deleted',
      'remake-of-old',
    ]);
    const remake = await owner.query(
      `SELECT remake_of, remake_reason, remake_responsibility, remake_chargeable, lab_id FROM cases WHERE id = $1`,
      [ids['remake-of-old']],
    );
    expect(remake.rows).toEqual([
      {
        remake_of: null,
        remake_reason: 'fit',
        remake_responsibility: 'lab',
        remake_chargeable: false,
        lab_id: '2',
      },
    ]);
    const events = await owner.query(`SELECT count(*)::int AS n FROM case_events`);
    expect(events.rows[0].n).toBe(3);
    const notes = await owner.query(
      `SELECT (SELECT count(*)::int FROM case_notes) AS notes, (SELECT count(*)::int FROM case_note_revisions) AS revisions`,
    );
    expect(notes.rows[0]).toEqual({ notes: 3, revisions: 3 });
    const keys = await owner.query(`SELECT key FROM idempotency_keys`);
    expect(keys.rows).toEqual([{ key: 'fresh-key' }]);
    const audit = await owner.query(
      `SELECT action, interaction, resource_type, actor_type, subject_count, query FROM audit_events WHERE interaction = 'purge'`,
    );
    expect(audit.rows).toEqual([
      expect.objectContaining({
        action: 'D',
        resource_type: 'Case',
        actor_type: 'system',
        subject_count: 3,
      }),
    ]);
    expect(audit.rows[0].query).toMatchObject({ cases: 3, case_events: 3, retention_days: 30 });
    // Nothing left to do: a second run purges nothing.
    expect((await purgeExpiredCases(env())).cases).toBe(0);
  });

  it('a remake links a case of its own lab only (the foreign key is on lab_id, remake_of)', async () => {
    const insert = (lab: string, of: number) =>
      owner.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, remake_of, remake_reason,
                            remake_responsibility, remake_chargeable)
         VALUES ($1, 'x', 'p', 'other', 'pending', $2, 'fit', 'lab', false)`,
        [lab, of],
      );
    await expect(insert('1', ids['recently-deleted'])).rejects.toThrow(/fk_cases_remake_of/);
    await expect(insert('1', 2_000_000_000)).rejects.toThrow(/fk_cases_remake_of/);
    await expect(
      owner.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, remake_of)
         VALUES ('1', 'x', 'p', 'other', 'pending', $1)`,
        [ids['old-but-open']],
      ),
    ).rejects.toThrow(/ck_cases_remake_fields/);
  });
});
