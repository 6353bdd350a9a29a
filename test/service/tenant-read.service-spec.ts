import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector, statementName, TenantDb } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';

/**
 * TenantDb.read: the pipelined read path (BEGIN + the lab setting sent with
 * the first statements, statements issued together travel together, the
 * read-only COMMIT answered after the result) on a pool of ONE connection,
 * so that a connection left busy, in a transaction or in pipeline mode
 * would hang or break the next read.
 */
describe('TenantDb.read: pipelined, prepared, and the connection handed back clean', () => {
  let mod: TestingModule;
  let owner: Client;
  let db: TenantDb;
  const labA = `tr${randomInt(1e9)}`;
  const labB = `tr${randomInt(1e9)}`;

  beforeAll(async () => {
    mod = await Test.createTestingModule({
      imports: [
        AppModule.forRoot(
          testEnv({ DB_POOL_SIZE: '1', DB_MAX_OVERFLOW: '0', DB_POOL_TIMEOUT: '5' }),
        ),
      ],
    }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    db = mod.get(TenantDb);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
    // One case in each lab, written as the owner with the lab set (row-level security is forced).
    for (const lab of [labA, labB]) {
      await owner.query('BEGIN');
      await owner.query(`SELECT set_config('app.lab_id', $1, true)`, [lab]);
      await owner.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, status, case_name, created_by) VALUES ($1, 'd1', 'p1', 'other', 'pending', $2, 'test')`,
        [lab, `case of ${lab}`],
      );
      await owner.query('COMMIT');
    }
  });
  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  it('statements issued at once answer in one read, each with its own rows, under the lab setting', async () => {
    const out = await db.read(labA, (q) =>
      Promise.all([
        q.rows<{ lab: string }>(`SELECT current_setting('app.lab_id') AS lab`),
        q.rows<{ lab_id: string }>('SELECT lab_id FROM cases WHERE lab_id = ANY($1)', [
          [labA, labB],
        ]),
        q.rows<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`),
      ]),
    );
    expect(out[0]).toEqual([{ lab: labA }]);
    // Row-level security: lab B's case is invisible to a read of lab A.
    expect(out[1]).toEqual([{ lab_id: labA }]);
    expect(out[2]).toEqual([{ ro: 'on' }]);
  });

  it('a failing statement fails the read with its own error; the one connection serves the next read', async () => {
    await expect(
      db.read(labA, (q) =>
        Promise.all([q.rows('SELECT 1 AS one'), q.rows('SELECT no_such_column FROM cases')]),
      ),
    ).rejects.toThrow(/no_such_column/);
    // Not left in an aborted transaction nor busy: the next read (same, only connection) works.
    const again = await db.read(labB, (q) =>
      q.rows<{ n: number }>('SELECT count(*)::int AS n FROM cases'),
    );
    expect(again).toEqual([{ n: 1 }]);
  });

  it('the answer does not wait for COMMIT, yet the next read on the one connection starts outside any transaction', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.read(i % 2 ? labA : labB, (q) =>
          q.rows<{ lab: string; xact: string }>(
            `SELECT current_setting('app.lab_id') AS lab, txid_current_if_assigned()::text AS xact`,
          ),
        ),
      ),
    );
    // 20 reads through a pool of one: each saw only its own lab (no setting carried over).
    results.forEach((r, i) => expect(r[0].lab).toBe(i % 2 ? labA : labB));
  });

  it('a read statement is prepared once per connection (named), and runs from it afterwards', async () => {
    const text = 'SELECT id FROM cases WHERE lab_id = $1 ORDER BY id';
    const name = statementName(text);
    expect(name).toMatch(/^lhcms_r_[0-9a-f]{24}$/);
    const first = await db.read(labA, (q) => q.rows<{ id: number }>(text, [labA]));
    const second = await db.read(labA, (q) => q.rows<{ id: number }>(text, [labA]));
    expect(second).toEqual(first);
    const prepared = await db.read(labA, (q) =>
      q.rows<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE name = $1', [name]),
    );
    expect(prepared).toEqual([{ name }]);
  });
});
