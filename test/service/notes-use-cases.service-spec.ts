import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { CasesErrorCode } from '../../apps/api/src/case-model';
import { type CaseActor, CasesService } from '../../apps/api/src/cases/cases.service';
import { NotesErrorCode } from '../../apps/api/src/notes';
import {
  CreateNote,
  DeleteNote,
  type NoteActor,
  ReadNotes,
  UpdateNote,
} from '../../apps/api/src/notes/use-cases';

/**
 * Service tier: the note use cases on the real wiring (AppModule, real
 * PostgreSQL with row-level security, encryption, audit), called directly.
 * What HTTP adds (validation, status codes, tokens) is the e2e tier's.
 */
describe('note use cases (service tier: Nest module + PostgreSQL, no HTTP)', () => {
  let mod: TestingModule;
  let cases: CasesService;
  let create: CreateNote;
  let update: UpdateNote;
  let remove: DeleteNote;
  let reads: ReadNotes;
  let owner: Client;
  const labId = `note${randomInt(1e9)}`;
  const member: NoteActor = { userId: 'svc-member', labId, canModerate: false };
  const other: NoteActor = { userId: 'svc-other', labId, canModerate: false };
  const admin: NoteActor = { userId: 'svc-admin', labId, canModerate: true };
  const stranger: NoteActor = { ...admin, labId: `${labId}x` };
  const caseActor: CaseActor = {
    userId: 'svc-member',
    labId,
    labCode: 'NTS',
    token: 'unused',
    canReopen: false,
  };

  const codeOf = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => 'resolved',
      (e: { code?: unknown }) => e.code,
    );
  const newCase = async (): Promise<number> =>
    (
      await cases.create(caseActor, {
        doctor_id: 'd1',
        product_id: 'p1',
        case_type: 'other',
      })
    ).case.id;

  beforeAll(async () => {
    mod = await Test.createTestingModule({ imports: [AppModule.forRoot(testEnv())] }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    cases = mod.get(CasesService);
    create = mod.get(CreateNote);
    update = mod.get(UpdateNote);
    remove = mod.get(DeleteNote);
    reads = mod.get(ReadNotes);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  it('creates a note: revision 1, stored encrypted, with its revision row, audit row and timeline entry in one transaction', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'MRN-SVC-NOTE first' });
    expect(n).toMatchObject({
      case_id: caseId,
      text: 'MRN-SVC-NOTE first',
      visibility: 'internal',
      author_id: 'svc-member',
      revision: 1,
      edited: false,
    });
    const stored = await owner.query(`SELECT lab_id, body FROM case_notes WHERE id = $1`, [n.id]);
    expect(stored.rows[0].lab_id).toBe(labId);
    expect(stored.rows[0].body).toMatch(/^enc:v1:/);
    const revs = await owner.query(
      `SELECT revision, body FROM case_note_revisions WHERE note_id = $1`,
      [n.id],
    );
    expect(revs.rows).toEqual([{ revision: 1, body: expect.stringMatching(/^enc:v1:/) }]);
    const audit = await owner.query(
      `SELECT interaction, resource_type FROM audit_events WHERE lab_id = $1 AND resource_id = $2 AND resource_type = 'case_note'`,
      [labId, String(n.id)],
    );
    expect(audit.rows).toEqual([{ interaction: 'create', resource_type: 'case_note' }]);
    const { events } = await cases.timeline(caseActor, caseId);
    expect(events.map((e) => [e.event_type, e.note_id])).toEqual([
      ['created', null],
      ['note_created', n.id],
    ]);
  });

  it('a failed write leaves nothing behind (no note, no revision, no event)', async () => {
    const caseId = await newCase();
    const before = await owner.query(
      `SELECT count(*)::int AS n FROM case_notes WHERE lab_id = $1`,
      [labId],
    );
    expect(await codeOf(create.run(stranger, caseId, { text: 'x' }))).toBe(
      CasesErrorCode.CaseNotFound,
    );
    expect(await codeOf(create.run(member, caseId, { text: '  ' }))).toBe(
      NotesErrorCode.InvalidNote,
    );
    const after = await owner.query(`SELECT count(*)::int AS n FROM case_notes WHERE lab_id = $1`, [
      labId,
    ]);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    const { events } = await cases.timeline(caseActor, caseId);
    expect(events.map((e) => e.event_type)).toEqual(['created']);
  });

  it('edits: only the author or an admin; each change is the next revision; no-op edits write nothing', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'v1' });
    expect(await codeOf(update.run(other, caseId, n.id, { text: 'hijack' }))).toBe(
      NotesErrorCode.NotAuthor,
    );
    const v2 = await update.run(member, caseId, n.id, { text: 'v2' }, { ifMatch: 1 });
    expect(v2).toMatchObject({ text: 'v2', revision: 2, edited: true, updated_by: 'svc-member' });
    const same = await update.run(member, caseId, n.id, { text: 'v2' });
    expect(same.revision).toBe(2);
    const v3 = await update.run(admin, caseId, n.id, { visibility: 'shared' });
    expect(v3).toMatchObject({ text: 'v2', visibility: 'shared', revision: 3 });
    expect(await codeOf(update.run(member, caseId, n.id, { text: 'stale' }, { ifMatch: 2 }))).toBe(
      NotesErrorCode.VersionMismatch,
    );
    const h = await reads.history(admin, caseId, n.id);
    expect(h.revisions.map((r) => [r.revision, r.text, r.visibility, r.author_id])).toEqual([
      [1, 'v1', 'internal', 'svc-member'],
      [2, 'v2', 'internal', 'svc-member'],
      [3, 'v2', 'shared', 'svc-admin'],
    ]);
  });

  it('concurrent edits serialise: every edit becomes its own revision, none is lost', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'start' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => update.run(member, caseId, n.id, { text: `edit ${i}` })),
    );
    expect(results.map((r) => r.revision).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const h = await reads.history(admin, caseId, n.id);
    expect(h.revisions.map((r) => r.revision)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(h.revisions.slice(1).map((r) => r.text)).size).toBe(8);
    const current = await reads.get(member, caseId, n.id);
    expect(current.text).toBe(h.revisions[8].text);
  });

  it('concurrent edits with the same If-Match: exactly one wins, the others get 412', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'start' });
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        codeOf(update.run(member, caseId, n.id, { text: `race ${i}` }, { ifMatch: 1 })),
      ),
    );
    expect(outcomes.filter((o) => o === 'resolved')).toHaveLength(1);
    expect(outcomes.filter((o) => o === NotesErrorCode.VersionMismatch)).toHaveLength(4);
    expect((await reads.get(member, caseId, n.id)).revision).toBe(2);
  });

  it('deletes softly with an encrypted reason; the note is gone from reads, kept for admins', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'to go' });
    const keep = await create.run(member, caseId, { text: 'to stay' });
    expect(await codeOf(remove.run(other, caseId, n.id, 'not mine'))).toBe(
      NotesErrorCode.NotAuthor,
    );
    await remove.run(member, caseId, n.id, 'wrong case');
    expect(await codeOf(reads.get(member, caseId, n.id))).toBe(NotesErrorCode.NoteNotFound);
    expect(await codeOf(update.run(admin, caseId, n.id, { text: 'x' }))).toBe(
      NotesErrorCode.NoteNotFound,
    );
    expect(await codeOf(remove.run(admin, caseId, n.id, 'again'))).toBe(
      NotesErrorCode.NoteNotFound,
    );
    const page = await reads.list(member, caseId, { limit: 10 });
    expect(page.notes.map((x) => x.id)).toEqual([keep.id]);
    const h = await reads.history(admin, caseId, n.id);
    expect(h.deleted).toMatchObject({ deleted_by: 'svc-member', reason: 'wrong case' });
    const raw = await owner.query(`SELECT delete_reason FROM case_notes WHERE id = $1`, [n.id]);
    expect(raw.rows[0].delete_reason).toMatch(/^enc:v1:/);
  });

  it('another lab, another case, a deleted case: not found', async () => {
    const caseId = await newCase();
    const otherCase = await newCase();
    const n = await create.run(member, caseId, { text: 'here' });
    expect(await codeOf(reads.get(stranger, caseId, n.id))).toBe(CasesErrorCode.CaseNotFound);
    expect(await codeOf(reads.list(stranger, caseId, { limit: 10 }))).toBe(
      CasesErrorCode.CaseNotFound,
    );
    expect(await codeOf(reads.get(member, otherCase, n.id))).toBe(NotesErrorCode.NoteNotFound);
    expect(await codeOf(update.run(admin, otherCase, n.id, { text: 'x' }))).toBe(
      NotesErrorCode.NoteNotFound,
    );
    await cases.remove({ ...caseActor }, caseId, {});
    expect(await codeOf(reads.list(member, caseId, { limit: 10 }))).toBe(
      CasesErrorCode.CaseNotFound,
    );
    expect(await codeOf(create.run(member, caseId, { text: 'late' }))).toBe(
      CasesErrorCode.CaseNotFound,
    );
  });

  it('revision rows are append-only for the application role', async () => {
    const caseId = await newCase();
    const n = await create.run(member, caseId, { text: 'fixed' });
    const app = new Client({ connectionString: testDatabaseUrls().appUrl });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query(`SELECT set_config('app.lab_id', $1, true)`, [labId]);
      await expect(
        app.query(`UPDATE case_note_revisions SET body = 'x' WHERE note_id = $1`, [n.id]),
      ).rejects.toThrow(/append-only|permission denied/);
      await app.query('ROLLBACK');
      await expect(app.query(`DELETE FROM case_notes WHERE id = $1`, [n.id])).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await app.end();
    }
  });
});
