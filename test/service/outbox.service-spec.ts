import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { CASE_TABLE, ENCRYPTED_COLUMNS } from '../../apps/api/src/case-model';
import { type CaseActor, CasesService } from '../../apps/api/src/cases/cases.service';
import {
  OUTBOX_EVENT_TYPE_NAMES,
  OUTBOX_EVENT_TYPES,
  SNAPSHOT_COLUMNS,
} from '../../apps/api/src/events';
import { CreateNote, DeleteNote, type NoteActor } from '../../apps/api/src/notes/use-cases';

interface OutboxRow {
  id: string;
  lab_id: string;
  case_id: number;
  case_number: string | null;
  seq: number;
  type: string;
  payload: Record<string, any>;
  dispatched_at: string | null;
}

/**
 * Service tier: the transactional outbox (issue 17) under the real use cases
 * (AppModule, PostgreSQL with row-level security, encryption, audit): every
 * case change commits exactly its events, with a per-case sequence without
 * gaps, and a rolled-back change leaves none.
 */
describe('case outbox (service tier: use cases + PostgreSQL)', () => {
  let mod: TestingModule;
  let cases: CasesService;
  let createNote: CreateNote;
  let deleteNote: DeleteNote;
  let owner: Client;
  const labId = `obx${randomInt(1e9)}`;
  const actor: CaseActor = {
    userId: 'obx-user',
    labId,
    labCode: 'OBX',
    token: 'unused',
    canReopen: true,
  };
  const noteActor: NoteActor = { userId: 'obx-user', labId, canModerate: true };
  const PATIENT = 'OBX-PATIENT-4711';

  const outbox = async (caseId: number): Promise<OutboxRow[]> =>
    (
      await owner.query<OutboxRow>(
        `SELECT id::text, lab_id, case_id, case_number, seq::int AS seq, type, payload, dispatched_at
           FROM case_outbox WHERE case_id = $1 ORDER BY seq`,
        [caseId],
      )
    ).rows;
  const newCase = async (extra: Record<string, unknown> = {}): Promise<number> =>
    (
      await cases.create(actor, {
        doctor_id: 'obx-doc',
        product_id: 'obx-prod',
        case_type: 'night_guard',
        case_name: `${PATIENT} crown`,
        description: `for ${PATIENT}`,
        special_instructions: `call ${PATIENT}`,
        patient_info: { patient_id: PATIENT, first_name: 'Ada', last_name: 'Lovelace' },
        ...extra,
      } as never)
    ).case.id;

  beforeAll(async () => {
    mod = await Test.createTestingModule({ imports: [AppModule.forRoot(testEnv())] }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    cases = mod.get(CasesService);
    createNote = mod.get(CreateNote);
    deleteNote = mod.get(DeleteNote);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  it('the payload allowlist is the catalogue’s plain, sent, non-free-text columns: never an encrypted or blind-indexed one', () => {
    const phi = new Set(
      Object.entries(CASE_TABLE)
        .filter(([, c]) => c.phi !== 'plain')
        .map(([n]) => n),
    );
    expect(SNAPSHOT_COLUMNS.filter((c) => phi.has(c))).toEqual([]);
    for (const { column } of ENCRYPTED_COLUMNS) expect(SNAPSHOT_COLUMNS).not.toContain(column);
    expect(SNAPSHOT_COLUMNS).not.toContain('patient_id_bidx');
    expect(SNAPSHOT_COLUMNS).not.toContain('case_name');
    expect(SNAPSHOT_COLUMNS).toEqual(expect.arrayContaining(['status', 'stage', 'due_date']));
  });

  it('the table allows exactly the catalogue’s event types', async () => {
    const r = await owner.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'ck_case_outbox_type'`,
    );
    const allowed = [...r.rows[0].def.matchAll(/'([a-z_.]+)'/g)].map((m) => m[1]).sort();
    expect(allowed).toEqual([...OUTBOX_EVENT_TYPE_NAMES].sort());
  });

  it('case.created: one event, seq 1, the envelope, a snapshot of exactly the allowlisted fields and no PHI anywhere', async () => {
    const id = await newCase({ due_date: '2030-03-15', rush_order: true });
    const rows = await outbox(id);
    expect(rows).toHaveLength(1);
    const [e] = rows;
    const { rows: c } = await owner.query(`SELECT case_number FROM cases WHERE id = $1`, [id]);
    expect(e).toMatchObject({
      lab_id: labId,
      case_id: id,
      case_number: c[0].case_number,
      seq: 1,
      type: 'case.created',
      dispatched_at: null,
    });
    // UUID v7: version nibble 7, variant 10xx.
    expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Object.keys(e.payload).sort()).toEqual(['actor_user_id', 'case']);
    expect(e.payload.actor_user_id).toBe('obx-user');
    // The trigger's snapshot and the catalogue's allowlist agree (a column added to one only fails here).
    expect(Object.keys(e.payload.case).sort()).toEqual(
      SNAPSHOT_COLUMNS.map((n) => CASE_TABLE[n].wire).sort(),
    );
    expect(e.payload.case).toMatchObject({
      status: 'pending',
      case_type: 'night_guard',
      doctor_id: 'obx-doc',
      due_date: '2030-03-15',
      rush_order: true,
      version: 1,
    });
    expect(e.payload.case.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const text = JSON.stringify(e);
    for (const leak of [PATIENT, 'Lovelace', 'Ada', 'call ', 'for OBX']) {
      expect(text).not.toContain(leak);
    }
  });

  it('status, stage, due date, other fields, delete: each its type, seq 1, 2, 3… in commit order, no PHI', async () => {
    const id = await newCase();
    const { stages } = await cases.getSettings(actor);
    await cases.changeStatus(actor, id, 'in_progress', undefined);
    await cases.changeStage(actor, id, stages[1], undefined);
    await cases.update(actor, id, { due_date: '2031-01-10', reason: `moved for ${PATIENT}` });
    await cases.update(actor, id, { priority: 'high', description: `new ${PATIENT}` });
    await cases.update(actor, id, {
      due_date: '2031-02-14',
      assigned_to: 'tech-9',
      reason: 'both',
    });
    await cases.changeStatus(actor, id, 'completed', undefined);
    await cases.changeStatus(actor, id, 'in_progress', `reopened: ${PATIENT} called`);
    await cases.remove(actor, id);

    const rows = await outbox(id);
    expect(rows.map((r) => [r.seq, r.type])).toEqual([
      [1, 'case.created'],
      [2, 'case.status_changed'],
      [3, 'case.stage_changed'],
      [4, 'case.due_date_changed'],
      [5, 'case.updated'],
      [6, 'case.due_date_changed'],
      [7, 'case.updated'],
      [8, 'case.status_changed'],
      [9, 'case.status_changed'],
      [10, 'case.deleted'],
    ]);
    const p = rows.map((r) => r.payload);
    expect(p[1]).toMatchObject({
      from_status: 'pending',
      to_status: 'in_progress',
      from_stage: null,
      to_stage: stages[0],
      reopened: false,
    });
    expect(p[1].case).toMatchObject({ status: 'in_progress', stage: stages[0] });
    expect(p[2]).toMatchObject({ from_stage: stages[0], to_stage: stages[1] });
    // The due date the schedule planned at create, then the new one; ship-by moves with it.
    expect(p[3]).toMatchObject({ from_due_date: p[0].case.due_date, to_due_date: '2031-01-10' });
    expect(p[3].to_ship_by).toBe(p[3].case.ship_by);
    expect(p[3].from_ship_by).toBe(p[0].case.ship_by);
    expect(p[3].case.due_date).toBe('2031-01-10');
    // A PHI field by name only; values only of snapshot fields.
    expect(p[4]).toMatchObject({
      changed_fields: expect.arrayContaining(['priority', 'description']),
      changes: { priority: { from: 'medium', to: 'high' } },
    });
    expect(p[4].changes).not.toHaveProperty('description');
    expect(p[5]).toMatchObject({ from_due_date: '2031-01-10', to_due_date: '2031-02-14' });
    expect(p[6]).toMatchObject({
      changed_fields: ['assigned_to'],
      changes: { assigned_to: { from: null, to: 'tech-9' } },
    });
    expect(p[7]).toMatchObject({ to_status: 'completed', reopened: false });
    expect(p[8]).toMatchObject({
      from_status: 'completed',
      to_status: 'in_progress',
      reopened: true,
    });
    expect(p[9].case.status).toBe('in_progress');
    // Every payload fits its type's fields; nothing carries a reason, a PHI value or a PHI field's value.
    for (const r of rows) {
      const fields = Object.keys(
        OUTBOX_EVENT_TYPES[r.type as keyof typeof OUTBOX_EVENT_TYPES].fields,
      );
      expect(Object.keys(r.payload).sort()).toEqual(['actor_user_id', 'case', ...fields].sort());
      expect(JSON.stringify(r)).not.toMatch(/OBX-PATIENT|Lovelace|reopened:|moved for|new OBX/);
    }
    // The versions in the snapshots follow the case's.
    expect(p.map((x) => x.case.version)).toEqual(
      [...p.map((x) => x.case.version)].sort((a, b) => a - b),
    );
  });

  it('no change, no event: an update or status move to the same values emits nothing', async () => {
    const id = await newCase();
    await cases.update(actor, id, { priority: 'medium' });
    await cases.changeStatus(actor, id, 'pending', undefined);
    expect((await outbox(id)).map((r) => r.type)).toEqual(['case.created']);
  });

  it('case.note_added: the note id, never its text; note deletions are not outbox events', async () => {
    const id = await newCase();
    const n = await createNote.run(noteActor, id, { text: `${PATIENT} allergic` });
    await deleteNote
      .run(noteActor, id, n.id, { reason: `wrong ${PATIENT}` } as never)
      .catch(() => undefined);
    const rows = await outbox(id);
    expect(rows.map((r) => [r.seq, r.type])).toEqual([
      [1, 'case.created'],
      [2, 'case.note_added'],
    ]);
    expect(rows[1].payload).toMatchObject({ note_id: n.id, actor_user_id: 'obx-user' });
    expect(JSON.stringify(rows)).not.toMatch(/OBX-PATIENT|allergic/);
  });

  it('a change that fails after its event was written rolls the event back: no row, and the next event takes the same seq', async () => {
    const id = await newCase();
    // A failure after the event's insert, in the same transaction: a deferred constraint
    // trigger (owner-made, this case only) refuses the event at COMMIT.
    await owner.query(`
      CREATE OR REPLACE FUNCTION obx_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.case_id = ${id} AND NEW.type = 'case.status_changed' THEN
          RAISE EXCEPTION 'forced failure after the outbox insert';
        END IF;
        RETURN NULL;
      END $$`);
    await owner.query(
      `CREATE CONSTRAINT TRIGGER obx_test_fail AFTER INSERT ON case_outbox
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION obx_test_fail()`,
    );
    try {
      await expect(cases.changeStatus(actor, id, 'in_progress', undefined)).rejects.toThrow();
    } finally {
      await owner.query(`DROP TRIGGER obx_test_fail ON case_outbox`);
      await owner.query(`DROP FUNCTION obx_test_fail()`);
    }
    // Nothing of the change committed: not the case, not its timeline, not its event.
    const { rows: c } = await owner.query(`SELECT status FROM cases WHERE id = $1`, [id]);
    expect(c[0].status).toBe('pending');
    expect((await outbox(id)).map((r) => r.type)).toEqual(['case.created']);
    await cases.changeStatus(actor, id, 'in_progress', undefined);
    expect((await outbox(id)).map((r) => [r.seq, r.type])).toEqual([
      [1, 'case.created'],
      [2, 'case.status_changed'],
    ]);
  });

  it('a refused write (If-Match mismatch) emits nothing', async () => {
    const before = (
      await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM case_outbox WHERE lab_id = $1`,
        [labId],
      )
    ).rows[0].n;
    const id = await newCase();
    await expect(
      cases.changeStatus(actor, id, 'in_progress', undefined, { ifMatch: 99 }),
    ).rejects.toMatchObject({ code: 'CASE_VERSION_MISMATCH' });
    const after = (
      await owner.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM case_outbox WHERE lab_id = $1`,
        [labId],
      )
    ).rows[0].n;
    expect(after).toBe(before + 1); // the create's only
  });

  it('concurrent writes to one case (case writes, which lock the case, and notes, which do not) number their events 1…N without gaps or duplicates', async () => {
    const id = await newCase();
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 12; i++) {
      writes.push(cases.update(actor, id, { assigned_to: `tech-${i}` }));
      writes.push(createNote.run(noteActor, id, { text: `note ${i}` }));
    }
    const results = await Promise.allSettled(writes);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const rows = await outbox(id);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.filter((r) => r.type === 'case.note_added')).toHaveLength(12);
    // created + 12 updates (one may land on an equal value only if two wrote the same: they never do).
    expect(rows.filter((r) => r.type === 'case.updated')).toHaveLength(12);
    // Per case, the dispatch order (position) is the seq order.
    const pos = await owner.query<{ seq: number }>(
      `SELECT seq::int AS seq FROM case_outbox WHERE case_id = $1 ORDER BY position`,
      [id],
    );
    expect(pos.rows.map((r) => r.seq)).toEqual(rows.map((r) => r.seq));
    // The timeline and the outbox agree on what happened.
    const { rows: t } = await owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM case_events WHERE case_id = $1`,
      [id],
    );
    expect(t[0].n).toBe(rows.length);
  });
});
