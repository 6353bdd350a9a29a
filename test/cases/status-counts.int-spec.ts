import { loadEnv } from '@lhcms/config';
import { revertLastMigration, runMigrations } from '@lhcms/database';
import { createTestDatabase, testDatabaseUrls, type TestDatabase } from '@lhcms/testing';
import { Client } from 'pg';

/**
 * lab_case_status_counts (migration 1764800000000): the counters the list's
 * `total` reads must equal count(*) of the live cases, per lab and status,
 * whatever writes the rows — inserts, status moves, soft deletes, hard
 * deletes by the owner, concurrent writers — and only the trigger may change
 * them.
 */
describe('case status counters', () => {
  let db: TestDatabase;
  let owner: Client;
  const env = () =>
    loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl });

  /** The counters (summed over their shards) and the truth, both as "lab/status=n" lines (zeros left out). */
  async function countersAndTruth(): Promise<[string[], string[]]> {
    const c = await owner.query<{ k: string }>(
      `SELECT lab_id || '/' || status || '=' || sum(live) AS k FROM lab_case_status_counts
       GROUP BY lab_id, status HAVING sum(live) <> 0 ORDER BY 1`,
    );
    const t = await owner.query<{ k: string }>(
      `SELECT lab_id || '/' || status || '=' || count(*) AS k FROM cases WHERE deleted_at IS NULL
       GROUP BY lab_id, status ORDER BY 1`,
    );
    return [c.rows.map((r) => r.k), t.rows.map((r) => r.k)];
  }

  /** An application-role connection working in one lab, as TenantDb does. */
  async function asLab(lab: string): Promise<Client> {
    const c = new Client({ connectionString: db.appUrl });
    await c.connect();
    await c.query(`SELECT set_config('app.lab_id', $1, false)`, [lab]);
    return c;
  }

  const insert = (c: Client, lab: string, n: number, status = 'pending') =>
    c.query(
      `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status)
       SELECT $1, 'd' || g, 'p', 'other', $3 FROM generate_series(1, $2) g`,
      [lab, n, status],
    );

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_status_counts');
    await runMigrations(env());
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner.end();
    await db.drop();
  });

  it('are filled from the existing cases when the migration runs', async () => {
    // Down to just before the counters (the migrations after them are reverted first).
    let reverted: string | undefined;
    do reverted = await revertLastMigration(env());
    while (reverted !== undefined && reverted !== 'CaseStatusCounts1764800000000');
    expect(reverted).toBe('CaseStatusCounts1764800000000');
    await owner.query(`SELECT set_config('app.lab_id', '', false)`);
    await insert(owner, '1', 5);
    await insert(owner, '2', 3, 'in_progress');
    await owner.query(
      `UPDATE cases SET deleted_at = now() WHERE id IN (SELECT id FROM cases WHERE lab_id = '1' LIMIT 2)`,
    );
    await runMigrations(env());
    const [counters, truth] = await countersAndTruth();
    expect(counters).toEqual(['1/pending=3', '2/in_progress=3']);
    expect(counters).toEqual(truth);
  });

  it('follow inserts, every status move, soft and hard deletes', async () => {
    const lab3 = await asLab('3');
    try {
      await insert(lab3, '3', 40);
      const ids = (
        await lab3.query<{ id: number }>(`SELECT id FROM cases WHERE lab_id = '3' ORDER BY id`)
      ).rows.map((r) => r.id);
      const move = (id: number, status: string) =>
        lab3.query(`UPDATE cases SET status = $2 WHERE id = $1`, [id, status]);
      // A deterministic walk through the transition table.
      for (const [i, id] of ids.entries()) {
        if (i % 2 === 0) await move(id, 'in_progress');
        if (i % 4 === 0) await move(id, 'on_hold');
        if (i % 8 === 0) await move(id, 'in_progress');
        if (i % 8 === 0) await move(id, 'completed');
        if (i % 5 === 1 && i % 8 !== 0) await move(id, 'cancelled');
        if (i % 7 === 3)
          await lab3.query(`UPDATE cases SET deleted_at = now() WHERE id = $1`, [id]);
        // Not a counted change: the counters stay as they are.
        if (i % 3 === 0) await lab3.query(`UPDATE cases SET description = 'x' WHERE id = $1`, [id]);
      }
      await lab3.query('BEGIN');
      await lab3.query(`SELECT set_config('lhcms.case_reopen', 'on', true)`);
      await move(ids[0], 'in_progress');
      await lab3.query('COMMIT');
      // A rolled-back change leaves no trace.
      await lab3.query('BEGIN');
      await insert(lab3, '3', 10);
      await move(ids[2], 'cancelled');
      await lab3.query('ROLLBACK');
    } finally {
      await lab3.end();
    }
    let [counters, truth] = await countersAndTruth();
    expect(counters.filter((k) => k.startsWith('3/')).length).toBeGreaterThanOrEqual(4);
    expect(counters).toEqual(truth);

    // The retention job deletes rows as the owner (timelines first).
    await owner.query(
      `DELETE FROM cases WHERE lab_id = '3' AND status IN ('completed', 'cancelled')`,
    );
    [counters, truth] = await countersAndTruth();
    expect(counters).toEqual(truth);
  });

  it('stay exact under concurrent opposite moves in one lab, without deadlocks', async () => {
    const [a, b] = [await asLab('4'), await asLab('4')];
    try {
      await insert(a, '4', 60, 'in_progress');
      const ids = (
        await a.query<{ id: number }>(`SELECT id FROM cases WHERE lab_id = '4' ORDER BY id`)
      ).rows.map((r) => r.id);
      await a.query(`UPDATE cases SET status = 'on_hold' WHERE id = ANY($1)`, [ids.slice(30)]);
      // a: in_progress -> on_hold -> in_progress on the first half; b the reverse on the second.
      const walk = async (c: Client, mine: number[], first: string, second: string) => {
        for (let round = 0; round < 10; round++)
          for (const id of mine) {
            await c.query('BEGIN');
            await c.query(`UPDATE cases SET status = $2 WHERE id = $1`, [id, first]);
            await c.query(`UPDATE cases SET status = $2 WHERE id = $1`, [id, second]);
            await c.query('COMMIT');
          }
      };
      await Promise.all([
        walk(a, ids.slice(0, 30), 'on_hold', 'in_progress'),
        walk(b, ids.slice(30), 'in_progress', 'on_hold'),
      ]);
    } finally {
      await a.end();
      await b.end();
    }
    const [counters, truth] = await countersAndTruth();
    expect(counters).toEqual(expect.arrayContaining(['4/in_progress=30', '4/on_hold=30']));
    expect(counters).toEqual(truth);
  });

  it('are read-only for the application role, and show it only its own lab', async () => {
    const c = await asLab('3');
    try {
      await expect(c.query(`UPDATE lab_case_status_counts SET live = live + 1`)).rejects.toThrow(
        /permission denied/,
      );
      await expect(
        c.query(`INSERT INTO lab_case_status_counts VALUES ('3', 'pending', 0, 1000)`),
      ).rejects.toThrow(/permission denied/);
      await expect(
        c.query(`SELECT lhcms_case_status_count_add('3', 'pending', 1000)`),
      ).rejects.toThrow(/permission denied/);
      const seen = await c.query<{ lab_id: string }>(
        `SELECT DISTINCT lab_id FROM lab_case_status_counts`,
      );
      expect(seen.rows).toEqual([{ lab_id: '3' }]);
    } finally {
      await c.end();
    }
  });
});
