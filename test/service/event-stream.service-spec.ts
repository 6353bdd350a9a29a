import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { testDatabaseUrls } from '@lhcms/testing';

/**
 * The live feed's cross-lab reads (migration 1765670000000) as the
 * application role: `lhcms_outbox_stream_read` returns dispatched events of
 * the labs asked for only, in `stream_seq` order, batch-capped; the role
 * itself still sees one lab at a time.
 */
describe('live feed reads (lhcms_outbox_stream_read, lhcms_outbox_stream_head)', () => {
  let owner: Client;
  let app: Client;
  const labA = `sse${randomInt(1e9)}`;
  const labB = `sse${randomInt(1e9)}`;
  const caseBase = 1_500_000_000 + randomInt(100_000_000);
  let before: number;

  const insert = async (lab: string, caseId: number, n: number, dispatched: boolean) => {
    await owner.query(
      `INSERT INTO case_outbox (id, lab_id, case_id, seq, type, occurred_at, payload, dispatched_at, stream_seq)
       SELECT lhcms_uuid_v7(), $1, $2, g, 'case.updated', now(), '{}'::jsonb,
              CASE WHEN $4 THEN now() END, CASE WHEN $4 THEN nextval('case_outbox_stream_seq') END
         FROM generate_series(1, $3::int) g`,
      [lab, caseId, n, dispatched],
    );
  };

  beforeAll(async () => {
    const urls = testDatabaseUrls();
    owner = new Client({ connectionString: urls.ownerUrl });
    app = new Client({ connectionString: urls.appUrl });
    await owner.connect();
    await app.connect();
    before = Number((await app.query(`SELECT lhcms_outbox_stream_head() AS h`)).rows[0].h);
    await insert(labA, caseBase, 3, true);
    await insert(labB, caseBase + 1, 2, true);
    await insert(labA, caseBase + 2, 2, false);
  });
  afterAll(async () => {
    await owner?.query(`DELETE FROM case_outbox WHERE lab_id IN ($1, $2)`, [labA, labB]);
    await owner?.end();
    await app?.end();
  });

  it('returns dispatched events of the labs asked for, in stream_seq order; the head moves', async () => {
    const read = async (labs: string[], batch = 100) =>
      (
        await app.query<{ stream_seq: string; lab_id: string; case_id: number }>(
          `SELECT * FROM lhcms_outbox_stream_read($1, $2::varchar[], $3)`,
          [before, labs, batch],
        )
      ).rows;
    const a = await read([labA]);
    expect(a.map((r) => r.case_id)).toEqual([caseBase, caseBase, caseBase]);
    const both = await read([labA, labB]);
    expect(both).toHaveLength(5);
    const seqs = both.map((r) => Number(r.stream_seq));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(both.map((r) => r.lab_id))).toEqual(new Set([labA, labB]));
    expect(await read([labA, labB], 2)).toHaveLength(2);
    expect(await read([`${labA}-none`])).toEqual([]);
    const head = Number((await app.query(`SELECT lhcms_outbox_stream_head() AS h`)).rows[0].h);
    expect(head).toBeGreaterThanOrEqual(Math.max(...seqs));
  });

  it('the application role still sees only its lab outside the functions', async () => {
    await app.query('BEGIN');
    await app.query(`SELECT set_config('app.lab_id', $1, true)`, [labA]);
    const r = await app.query(`SELECT DISTINCT lab_id FROM case_outbox WHERE lab_id IN ($1, $2)`, [
      labA,
      labB,
    ]);
    await app.query('COMMIT');
    expect(r.rows.map((x) => x.lab_id)).toEqual([labA]);
  });
});
