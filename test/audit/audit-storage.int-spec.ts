import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import {
  createTestDatabase,
  eventually,
  testDatabaseUrls,
  type TestDatabase,
} from '@lhcms/testing';
import { Client } from 'pg';
import {
  type AuditRecord,
  insertStatement,
  systemRecord,
} from '../../apps/api/src/audit/audit-event';
import { chainHead, sealingBacklog, sealOnce } from '../../apps/api/src/audit/chain-sealer';
import { pgSql } from '../../apps/api/src/audit/sql';
import { nothingHeldBack, superuserClient } from './audit-test-helpers';

/**
 * How audit rows are stored and chained (migration 1764900000000): the
 * fixed-text INSERT (the batch as one JSON parameter, a named prepared
 * statement) stores exactly what it was given, and what PostgreSQL cannot
 * store (NUL, unpaired surrogates) as U+FFFD instead of failing the batch; the sealer chains in (tx_id, seq) order
 * resuming after the head, leaves events of unfinished transactions and
 * what follows them for later, and its functions walk the index instead of
 * scanning the whole trail.
 */
describe('audit storage and sealing', () => {
  let db: TestDatabase;
  let app: Client;
  const key = Buffer.alloc(32, 7);

  const record = (over: Partial<AuditRecord> = {}): AuditRecord => ({
    ...systemRecord({
      interaction: 'search',
      resource_type: 'case',
      tool: 't',
      subjectCount: 0,
      query: null,
    }),
    lab_id: '1',
    ...over,
  });

  async function appClient(): Promise<Client> {
    const c = new Client({ connectionString: db.appUrl });
    await c.connect();
    return c;
  }

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_audit_storage');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    app = await appClient();
  });
  afterAll(async () => {
    await app.end();
    await db.drop();
  });

  it('the batch INSERT stores every value as given, whatever the list elements contain', async () => {
    const awkward = [
      'plain',
      'with "quotes"',
      'back\\slash',
      'a,b',
      '{braces}',
      ' spaced ',
      'NULL',
      'ünï',
    ];
    const records = [
      record({
        entity_ids: awkward,
        patient_refs: ['r1', 'r2'],
        query: { q: 'x"y', n: [1, null] },
      }),
      record({ lab_id: '2', entity_ids: null, patient_refs: null, source_ip: '10.0.0.1' }),
      record({ entity_ids: [], changed_fields: [{ field: 'status', old: 'a', new: 'b' }] }),
      record({
        lab_id: '3',
        user_agent: 'ua\u0000x',
        entity_ids: ['e\ud800'],
        query: { doctor_id: 'a\u0000b', n: ['\udc00'] },
        subject_count: 7,
      }),
    ];
    const { name, text, params } = insertStatement(records);
    // The same text and name whatever the number of rows: prepared once per connection.
    expect(insertStatement([records[0]]).text).toBe(text);
    await app.query({ name, text, values: params });
    await app.query({ name, text, values: insertStatement([records[1]]).params }); // reuses the prepared statement

    const owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      const stored = await owner.query<Record<string, unknown>>(
        `SELECT lab_id, entity_ids, patient_refs, query, changed_fields, host(source_ip) AS ip, subject_count,
                user_agent, occurred_at
         FROM audit_events ORDER BY seq`,
      );
      expect(stored.rows).toEqual([
        expect.objectContaining({
          lab_id: '1',
          entity_ids: awkward,
          patient_refs: ['r1', 'r2'],
          query: { q: 'x"y', n: [1, null] },
        }),
        expect.objectContaining({
          lab_id: '2',
          entity_ids: null,
          patient_refs: null,
          ip: '10.0.0.1',
        }),
        expect.objectContaining({
          entity_ids: [],
          changed_fields: [{ field: 'status', old: 'a', new: 'b' }],
        }),
        expect.objectContaining({
          lab_id: '3',
          user_agent: 'ua\uFFFDx',
          entity_ids: ['e\uFFFD'],
          query: { doctor_id: 'a\uFFFDb', n: ['\uFFFD'] },
          subject_count: 7,
        }),
        expect.objectContaining({ lab_id: '2', subject_count: 0 }),
      ]);
      expect(stored.rows[0].occurred_at).toEqual(records[0].occurred_at);
    } finally {
      await owner.end();
    }
  });

  it('seals in (tx_id, seq) order, waits for unfinished transactions, resumes after the head', async () => {
    const insert = (c: Client, n: number) => {
      const { text, params } = insertStatement(Array.from({ length: n }, () => record()));
      return c.query(text, params);
    };
    const sql = pgSql(app);
    const su = await superuserClient(db.name);
    try {
      await nothingHeldBack(su);
    } finally {
      await su.end();
    }
    while ((await sealOnce(sql, key)).sealed > 0); // the rows of the test before
    const t1 = await appClient();
    const t2 = await appClient();
    try {
      await t1.query('BEGIN');
      await insert(t1, 2); // older transaction, still running
      await t2.query('BEGIN');
      await insert(t2, 3);
      await t2.query('COMMIT'); // younger, committed first
      const first = await sealOnce(sql, key);
      expect(first.sealed).toBe(0); // t2's events must wait: t1 may still commit events before them
      expect((await sealingBacklog(sql, await chainHead(sql))).unsealed).toBe(3);

      await t1.query('COMMIT');
      // Rounds of 3 stop inside t2's transaction and resume after the head. (Another suite's
      // open transaction anywhere in the cluster may hold sealing back for a moment.)
      let sealed = 0;
      await eventually(async () => (sealed += (await sealOnce(sql, key, 3)).sealed) === 5);
      expect(sealed).toBe(5);
      expect((await sealingBacklog(sql, await chainHead(sql))).unsealed).toBe(0);

      const chained = await app.query<{ tx_id: string; seq: string }>(
        `SELECT c.tx_id::text, c.seq::text FROM audit_chain c ORDER BY c.position DESC LIMIT 5`,
      );
      const order = chained.rows.reverse().map((r) => [BigInt(r.tx_id), BigInt(r.seq)] as const);
      const sorted = [...order].sort((x, y) =>
        x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1,
      );
      expect(order).toEqual(sorted); // commit order did not matter, (tx_id, seq) did
      expect(new Set(order.map((o) => o[0])).size).toBe(2);
    } finally {
      await t1.end();
      await t2.end();
    }
  });

  it('the sealer functions never scan the whole trail', async () => {
    const owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      // A trail of many transactions, with statistics: the shape on which the first
      // version of these functions (planned without their arguments' values) scanned it all.
      await owner.query(`
        DO $$ BEGIN
          FOR i IN 1..300 LOOP
            INSERT INTO audit_events (occurred_at, lab_id, actor_type, event_type, action, interaction, outcome)
            SELECT now(), '1', 'system', 'system', 'E', 'search', 'success' FROM generate_series(1, 10);
            COMMIT;
          END LOOP;
        END $$`);
      await owner.query('ANALYZE audit_events');
    } finally {
      await owner.end();
    }
    const head = await chainHead(pgSql(app));
    // A fresh connection: pg_stat_xact_* also shows a backend's counts not yet flushed.
    const c = await appClient();
    await c.query('BEGIN');
    try {
      const after = [head!.tx_id, head!.seq];
      await c.query(`SELECT * FROM audit_sealing_backlog($1::xid8, $2::bigint)`, after);
      await c.query(`SELECT * FROM audit_seal_candidates($1::xid8, $2::bigint, 1000)`, after);
      const scans = await c.query<{ seq_scan: string; idx_scan: string }>(
        `SELECT seq_scan::text, idx_scan::text FROM pg_stat_xact_user_tables WHERE relname = 'audit_events'`,
      );
      expect(scans.rows[0].seq_scan).toBe('0');
      expect(Number(scans.rows[0].idx_scan)).toBeGreaterThanOrEqual(2);
    } finally {
      await c.query('ROLLBACK');
      await c.end();
    }
  });
});
