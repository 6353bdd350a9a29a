import { testDatabaseUrls } from '@lhcms/testing';
import { Client } from 'pg';

/**
 * Row-level security: the safety net under the service layer's lab scoping.
 * These queries go straight through the application role's connection, as a
 * forgotten `WHERE lab_id` would.
 */
describe('row-level security', () => {
  let app: Client;
  let owner: Client;
  const labA = `rls-a-${Date.now()}`;
  const labB = `rls-b-${Date.now()}`;

  async function inLab<T>(lab: string | null, fn: () => Promise<T>): Promise<T> {
    await app.query('BEGIN');
    try {
      if (lab !== null) await app.query(`SELECT set_config('app.lab_id', $1, true)`, [lab]);
      return await fn();
    } finally {
      await app.query('ROLLBACK');
    }
  }

  beforeAll(async () => {
    app = new Client({ connectionString: testDatabaseUrls().appUrl });
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await app.connect();
    await owner.connect();
    await owner.query(
      `INSERT INTO cases (lab_id, doctor_id, product_id, case_type) VALUES ($1, 'rls-doc', 'p', 'other'), ($2, 'rls-doc', 'p', 'other')`,
      [labA, labB],
    );
  });
  afterAll(async () => {
    await app.end();
    await owner.end();
  });

  it('every table with a lab_id column has RLS enabled and FORCED, with a policy', async () => {
    const r = await owner.query(`
      SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind = 'r' AND EXISTS (
        SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'lab_id' AND NOT a.attisdropped)`);
    expect(r.rows.length).toBeGreaterThan(0);
    for (const t of r.rows) {
      expect({
        table: t.relname,
        rls: t.relrowsecurity,
        force: t.relforcerowsecurity,
        policy: t.policies > 0,
      }).toEqual({
        table: t.relname,
        rls: true,
        force: true,
        policy: true,
      });
    }
  });

  it('covers the tenant tables of every module (a new one must carry lab_id and appear here)', async () => {
    const r = await owner.query(`
      SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind = 'r' AND c.relforcerowsecurity`);
    expect(r.rows.map((x: { relname: string }) => x.relname)).toEqual(
      expect.arrayContaining([
        'cases',
        'case_events',
        'case_notes',
        'case_note_revisions',
        'case_outbox',
        'case_outbox_seq',
      ]),
    );
  });

  it('case notes and their revisions: a lab sees only its own, and cannot write into another', async () => {
    const ids = (
      await owner.query<{ id: number; lab_id: string }>(
        `SELECT id, lab_id FROM cases WHERE doctor_id = 'rls-doc' AND lab_id IN ($1, $2)`,
        [labA, labB],
      )
    ).rows;
    for (const c of ids) {
      const n = await owner.query<{ id: number }>(
        `INSERT INTO case_notes (lab_id, case_id, author_id, visibility, body)
         VALUES ($1, $2, 'u', 'internal', 'enc:v1:x') RETURNING id`,
        [c.lab_id, c.id],
      );
      await owner.query(
        `INSERT INTO case_note_revisions (lab_id, note_id, revision, author_id, visibility, body)
         VALUES ($1, $2, 1, 'u', 'internal', 'enc:v1:x')`,
        [c.lab_id, n.rows[0].id],
      );
    }
    for (const table of ['case_notes', 'case_note_revisions']) {
      const seen = await inLab(
        labA,
        async () => (await app.query(`SELECT DISTINCT lab_id FROM ${table}`)).rows,
      );
      expect({ table, seen }).toEqual({ table, seen: [{ lab_id: labA }] });
      const none = await inLab(
        null,
        async () => (await app.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n,
      );
      expect({ table, none }).toEqual({ table, none: 0 });
    }
    const bCase = ids.find((c) => c.lab_id === labB)!;
    await expect(
      inLab(labA, () =>
        app.query(
          `INSERT INTO case_notes (lab_id, case_id, author_id, visibility, body) VALUES ($1, $2, 'u', 'internal', 'x')`,
          [labB, bCase.id],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    const updated = await inLab(
      labA,
      async () =>
        (await app.query(`UPDATE case_notes SET visibility = 'shared' WHERE lab_id = $1`, [labB]))
          .rowCount,
    );
    expect(updated).toBe(0);
  });

  it('the application role is not the owner and cannot bypass RLS', async () => {
    const r = await app.query(
      `SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user`,
    );
    expect(r.rows[0]).toEqual({ rolbypassrls: false, rolsuper: false });
  });

  it('no lab set: zero rows, even with no WHERE clause', async () => {
    const n = await inLab(
      null,
      async () => (await app.query(`SELECT count(*)::int AS n FROM cases`)).rows[0].n,
    );
    expect(n).toBe(0);
  });

  it('a lab sees only its rows; a forgotten WHERE lab_id leaks nothing', async () => {
    const rows = await inLab(
      labA,
      async () => (await app.query(`SELECT lab_id FROM cases WHERE doctor_id = 'rls-doc'`)).rows,
    );
    expect(rows).toEqual([{ lab_id: labA }]);
    const other = await inLab(
      'no-such-lab',
      async () => (await app.query(`SELECT count(*)::int AS n FROM cases`)).rows[0].n,
    );
    expect(other).toBe(0);
  });

  it('updates and soft deletes cannot reach another lab, and rows cannot be moved or written into it', async () => {
    const updated = await inLab(
      labA,
      async () =>
        (await app.query(`UPDATE cases SET case_name = 'x' WHERE lab_id = $1`, [labB])).rowCount,
    );
    expect(updated).toBe(0);
    await expect(
      inLab(labA, () =>
        app.query(
          `INSERT INTO cases (lab_id, doctor_id, product_id, case_type) VALUES ($1, 'd', 'p', 'other')`,
          [labB],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inLab(labA, () => app.query(`UPDATE cases SET lab_id = $1 WHERE lab_id = $2`, [labB, labA])),
    ).rejects.toThrow(/row-level security/);
  });

  it('the lab setting is transaction-local: nothing carries over on a pooled connection', async () => {
    await app.query('BEGIN');
    await app.query(`SELECT set_config('app.lab_id', $1, true)`, [labA]);
    await app.query('COMMIT');
    const after = await app.query(`SELECT nullif(current_setting('app.lab_id', true), '') AS lab`);
    expect(after.rows[0].lab).toBeNull();
    expect((await app.query(`SELECT count(*)::int AS n FROM cases`)).rows[0].n).toBe(0);
  });

  it('the owner role sees every lab (cross-lab jobs)', async () => {
    const r = await owner.query(
      `SELECT count(DISTINCT lab_id)::int AS n FROM cases WHERE doctor_id = 'rls-doc'`,
    );
    expect(r.rows[0].n).toBe(2);
  });
  it('attachments: another lab sees none, cannot soft-delete one, and nobody but the owner deletes rows', async () => {
    const c = await owner.query<{ id: number }>(
      `SELECT id FROM cases WHERE lab_id = $1 AND doctor_id = 'rls-doc'`,
      [labA],
    );
    const id = '11111111-2222-4333-8444-555555555555';
    await owner.query(
      `INSERT INTO attachments (id, lab_id, case_id, kind, filename, content_type, size_bytes, sha256,
                                object_key, stored_bytes, key_version, uploaded_by)
       VALUES ($1, $2, $3, 'scan', 'enc', 'model/stl', 10, repeat('a', 64), 'aa/rls-test-object-key-0123', 74, 1, 'u')`,
      [id, labA, c.rows[0].id],
    );
    try {
      const seen = await inLab(
        labB,
        async () => (await app.query(`SELECT count(*)::int AS n FROM attachments`)).rows[0].n,
      );
      expect(seen).toBe(0);
      const deleted = await inLab(
        labB,
        async () =>
          (
            await app.query(
              `UPDATE attachments SET deleted_at = now(), deleted_by = 'x' WHERE id = $1`,
              [id],
            )
          ).rowCount,
      );
      expect(deleted).toBe(0);
      const own = await inLab(
        labA,
        async () => (await app.query(`SELECT id FROM attachments WHERE id = $1`, [id])).rows,
      );
      expect(own).toHaveLength(1);
      await expect(
        inLab(labA, () => app.query(`DELETE FROM attachments WHERE id = $1`, [id])),
      ).rejects.toThrow(/permission denied/);
    } finally {
      await owner.query(`DELETE FROM attachments WHERE id = $1`, [id]);
    }
  });
  it('case outbox: the trigger writes the event as the app role in its lab; another lab sees none; the app role cannot change or delete events', async () => {
    const c = await owner.query<{ id: number }>(
      `SELECT id FROM cases WHERE lab_id = $1 AND doctor_id = 'rls-doc'`,
      [labA],
    );
    const caseId = c.rows[0].id;
    await app.query('BEGIN');
    try {
      await app.query(`SELECT set_config('app.lab_id', $1, true)`, [labA]);
      await app.query(
        `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id) VALUES ($1, $2, 'deleted', 'u')`,
        [labA, caseId],
      );
      const mine = await app.query(`SELECT lab_id, type FROM case_outbox WHERE case_id = $1`, [
        caseId,
      ]);
      expect(mine.rows).toEqual([{ lab_id: labA, type: 'case.deleted' }]);
      await app.query('SAVEPOINT s');
      await expect(
        app.query(`UPDATE case_outbox SET dispatched_at = now() WHERE case_id = $1`, [caseId]),
      ).rejects.toThrow(/permission denied/);
      await app.query('ROLLBACK TO SAVEPOINT s');
      await expect(
        app.query(`DELETE FROM case_outbox WHERE case_id = $1`, [caseId]),
      ).rejects.toThrow(/permission denied/);
      await app.query('ROLLBACK TO SAVEPOINT s');
      // Another lab's transaction sees neither the events nor the sequence rows.
      await app.query(`SELECT set_config('app.lab_id', $1, true)`, [labB]);
      for (const table of ['case_outbox', 'case_outbox_seq']) {
        const n = (
          await app.query(`SELECT count(*)::int AS n FROM ${table} WHERE case_id = $1`, [caseId])
        ).rows[0].n;
        expect({ table, n }).toEqual({ table, n: 0 });
      }
      // Nor can it write an event into lab A.
      await expect(
        app.query(
          `INSERT INTO case_outbox (id, lab_id, case_id, seq, type, occurred_at, payload)
           VALUES (gen_random_uuid(), $1, $2, 99, 'case.deleted', now(), '{}')`,
          [labA, caseId],
        ),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await app.query('ROLLBACK');
    }
  });
});
