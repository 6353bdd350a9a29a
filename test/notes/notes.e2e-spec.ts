import { startStack, type Stack } from '@lhcms/testing';
import type { Client } from 'pg';
import { superuserClient } from '../audit/audit-test-helpers';

const PHI = 'Patient Jane Roe, MRN-NOTE-4711, allergic to latex';

/**
 * Case notes over HTTP with real ums-dev tokens per role: the routes, the
 * role rules, the refusals in the one error shape, the audit rows, the
 * timeline entries (without the text), encryption at rest and lab isolation.
 */
describe('case notes (e2e)', () => {
  let s: Stack;
  let su: Client;
  let lab1: string;
  beforeAll(async () => {
    s = await startStack();
    su = await superuserClient();
    lab1 = String(s.labs.lab1);
  });
  afterAll(async () => {
    await su?.end();
    await s?.close();
  });

  const newCase = async (user = 'tech'): Promise<number> => {
    const r = await s.as(user, '/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id: 'note-doc', product_id: 'p', case_type: 'other' },
    });
    expect(r.status).toBe(201);
    return r.body.id as number;
  };
  const notes = (caseId: number) => `/api/v1/cases/${caseId}/notes`;
  const post = (user: string, caseId: number, body: unknown) =>
    s.as(user, notes(caseId), { method: 'POST', body });
  const auditRows = async (route: string, since: Date) =>
    (
      await su.query(
        `SELECT interaction, resource_type, resource_id, outcome, http_status, changed_fields, subject_count
           FROM audit_events WHERE lab_id = $1 AND route = $2 AND occurred_at >= $3 ORDER BY seq`,
        [lab1, route, since],
      )
    ).rows;

  it('a member adds a note (201, Location, ETag); it reads back and lists, oldest first', async () => {
    const caseId = await newCase();
    const since = new Date(Date.now() - 1000);
    const r = await post('tech', caseId, { text: PHI, visibility: 'shared' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      case_id: caseId,
      text: PHI,
      visibility: 'shared',
      revision: 1,
      edited: false,
      updated_by: null,
    });
    expect(r.body.author_id).toEqual(expect.any(String));
    expect(r.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(r.headers.get('location')).toBe(`${notes(caseId)}/${r.body.id}`);
    expect(r.headers.get('etag')).toBe('"1"');

    const second = await post('admin', caseId, { text: 'second' });
    expect(second.body.visibility).toBe('internal');

    const one = await s.as('viewer', `${notes(caseId)}/${r.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(r.body);
    const list = await s.as('viewer', notes(caseId));
    expect(list.status).toBe(200);
    expect(list.body.notes.map((n: { id: number }) => n.id)).toEqual([r.body.id, second.body.id]);
    expect(list.body.next_cursor).toBeNull();
    const shared = await s.as('viewer', `${notes(caseId)}?visibility=shared`);
    expect(shared.body.notes.map((n: { id: number }) => n.id)).toEqual([r.body.id]);

    // Audited: the create in its transaction, the read and the list as disclosures.
    const created = await auditRows('/api/v1/cases/:id/notes', since);
    expect(created).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          interaction: 'create',
          resource_type: 'case_note',
          resource_id: String(r.body.id),
          outcome: 'success',
          http_status: 201,
          changed_fields: [
            { field: 'case_id', to: caseId },
            { field: 'text' },
            { field: 'visibility', to: 'shared' },
          ],
        }),
        expect.objectContaining({
          interaction: 'search',
          resource_type: 'case',
          resource_id: String(caseId),
          subject_count: 2,
        }),
      ]),
    );
    const read = await auditRows('/api/v1/cases/:id/notes/:note_id', since);
    expect(read).toEqual([
      expect.objectContaining({
        interaction: 'read',
        resource_type: 'case_note',
        resource_id: String(r.body.id),
        outcome: 'success',
      }),
    ]);
    // No audit row carries the text.
    const leaked = await su.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE lab_id = $1 AND (changed_fields::text LIKE '%MRN-NOTE%' OR query::text LIKE '%MRN-NOTE%')`,
      [lab1],
    );
    expect(leaked.rows[0].n).toBe(0);
  });

  it('stores the text encrypted (enc:v1:), bound to its note: a copied ciphertext does not decrypt', async () => {
    const caseId = await newCase();
    const a = await post('tech', caseId, { text: PHI });
    const b = await post('tech', caseId, { text: 'other note' });
    const raw = await su.query(`SELECT id, body FROM case_notes WHERE id = ANY($1) ORDER BY id`, [
      [a.body.id, b.body.id],
    ]);
    for (const row of raw.rows) expect(row.body).toMatch(/^enc:v1:/);
    expect(raw.rows[0].body).not.toContain('MRN-NOTE');
    const revs = await su.query(`SELECT body FROM case_note_revisions WHERE note_id = $1`, [
      a.body.id,
    ]);
    expect(revs.rows).toHaveLength(1);
    expect(revs.rows[0].body).toMatch(/^enc:v1:/);

    // Swap a's ciphertext into b (as someone with database access could): b no longer reads.
    await su.query(`UPDATE case_notes SET body = $1 WHERE id = $2`, [raw.rows[0].body, b.body.id]);
    const swapped = await s.as('viewer', `${notes(caseId)}/${b.body.id}`);
    expect(swapped.status).toBe(500);
    expect(swapped.text).not.toContain('MRN-NOTE');
  });

  it('pages with limit and cursor; refuses a forged cursor, a bad limit and unknown parameters (400)', async () => {
    const caseId = await newCase();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await post('tech', caseId, { text: `n${i}` })).body.id);
    const seen: number[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const r = await s.as(
        'viewer',
        `${notes(caseId)}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(r.status).toBe(200);
      seen.push(...r.body.notes.map((n: { id: number }) => n.id));
      cursor = r.body.next_cursor;
      pages++;
    }
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    for (const q of [
      'cursor=garbage!!',
      'cursor=bm90LWEtY3Vyc29y',
      'limit=0',
      'limit=x',
      'sort=id',
    ]) {
      const r = await s.as('viewer', `${notes(caseId)}?${q}`);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^Invalid (cursor|limit|sort)/);
    }
    const bad = await s.as('viewer', `${notes(caseId)}?visibility=public`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.visibility).toMatch(/internal, shared/);
  });

  it('refuses bad input with a clear 400 that never echoes the text', async () => {
    const caseId = await newCase();
    const long = `${PHI} `.repeat(400).slice(0, 10_001);
    const tooLong = await post('tech', caseId, { text: long });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors.text).toMatch(/at most 10000 characters/);
    expect(tooLong.text).not.toContain('MRN-NOTE');
    expect((await post('tech', caseId, { text: 'x'.repeat(10_000) })).status).toBe(201);

    const cases: Array<[unknown, string]> = [
      [{ text: '' }, 'text'],
      [{}, 'text'],
      [{ text: 42 }, 'text'],
      [{ text: 'ok', visibility: 'public' }, 'visibility'],
    ];
    for (const [body, field] of cases) {
      const r = await post('tech', caseId, body);
      expect(r.status).toBe(400);
      expect(Object.keys(r.body.errors ?? {}).join(',')).toContain(field);
    }
    const blank = await post('tech', caseId, { text: ' \n\t ' });
    expect(blank.status).toBe(400);
    expect(blank.body).toMatchObject({
      message: 'Invalid text: must not be empty or only whitespace',
      errors: { text: 'must not be empty or only whitespace' },
    });
    const unknown = await post('tech', caseId, { text: 'ok', pinned: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('Input payload validation failed');

    // Bad ids and missing cases: 404 in the one error shape; nothing was written.
    expect((await post('tech', 2_000_000_000, { text: 'x' })).body.message).toBe('Case not found');
    expect((await post('tech', 2_000_000_000, { text: 'x' })).status).toBe(404);
    expect((await s.as('viewer', `/api/v1/cases/abc/notes`)).status).toBe(404);
    expect((await s.as('viewer', `${notes(caseId)}/abc`)).body.message).toBe('Note not found');
    expect((await s.as('viewer', `${notes(caseId)}/99999999999`)).status).toBe(404);
    const listed = await s.as('viewer', notes(caseId));
    expect(listed.body.notes).toHaveLength(1);
  });

  it('roles: viewers read only; members change only their own notes; admins change any and read the history', async () => {
    const caseId = await newCase();
    const byAdmin = (await post('admin', caseId, { text: 'admin note' })).body;
    const byTech = (await post('tech', caseId, { text: 'tech note' })).body;
    const path = (id: number) => `${notes(caseId)}/${id}`;

    expect((await post('viewer', caseId, { text: 'x' })).status).toBe(403);
    const viewerEdit = await s.as('viewer', path(byTech.id), {
      method: 'PUT',
      body: { text: 'y' },
    });
    expect(viewerEdit.status).toBe(403);

    const techOnAdmin = await s.as('tech', path(byAdmin.id), {
      method: 'PUT',
      body: { text: 'y' },
    });
    expect(techOnAdmin.status).toBe(403);
    expect(techOnAdmin.body.message).toBe('Only the author of a note or a lab admin may change it');
    const techDelAdmin = await s.as('tech', path(byAdmin.id), {
      method: 'DELETE',
      body: { reason: 'mine now' },
    });
    expect(techDelAdmin.status).toBe(403);

    const own = await s.as('tech', path(byTech.id), {
      method: 'PUT',
      body: { text: 'tech note, corrected' },
      headers: { 'if-match': '"1"' },
    });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ text: 'tech note, corrected', revision: 2, edited: true });
    expect(own.headers.get('etag')).toBe('"2"');
    const stale = await s.as('tech', path(byTech.id), {
      method: 'PUT',
      body: { text: 'again' },
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 412, current_etag: '"2"' });

    const adminEdit = await s.as('admin', path(byTech.id), {
      method: 'PUT',
      body: { visibility: 'shared' },
    });
    expect(adminEdit.status).toBe(200);
    expect(adminEdit.body).toMatchObject({ revision: 3, visibility: 'shared' });
    expect(adminEdit.body.updated_by).not.toBe(byTech.author_id);

    // The history: lab admins only.
    expect((await s.as('tech', `${path(byTech.id)}/revisions`)).status).toBe(403);
    expect((await s.as('viewer', `${path(byTech.id)}/revisions`)).status).toBe(403);
    const history = await s.as('admin', `${path(byTech.id)}/revisions`);
    expect(history.status).toBe(200);
    expect(
      history.body.revisions.map((r: { revision: number; text: string }) => [r.revision, r.text]),
    ).toEqual([
      [1, 'tech note'],
      [2, 'tech note, corrected'],
      [3, 'tech note, corrected'],
    ]);
    expect(history.body.deleted).toBeNull();
  });

  it('deletes with a reason: the note leaves the list, reads 404, cannot be edited; admins still read its history', async () => {
    const caseId = await newCase();
    const n = (await post('tech', caseId, { text: PHI })).body;
    const path = `${notes(caseId)}/${n.id}`;
    const since = new Date(Date.now() - 1000);

    // No body at all is 415, as on every route that takes a JSON body (the original's rule).
    expect((await s.as('tech', path, { method: 'DELETE' })).status).toBe(415);
    for (const body of [{}, { reason: '' }, { reason: '   ' }, { reason: 'x', more: 1 }]) {
      const r = await s.as('tech', path, { method: 'DELETE', body });
      expect(r.status).toBe(400);
    }
    const del = await s.as('tech', path, {
      method: 'DELETE',
      body: { reason: 'written on the wrong case (MRN-NOTE-4711)' },
    });
    expect(del.status).toBe(204);

    expect((await s.as('viewer', path)).status).toBe(404);
    expect((await s.as('viewer', notes(caseId))).body.notes).toEqual([]);
    const edit = await s.as('tech', path, { method: 'PUT', body: { text: 'back' } });
    expect(edit.status).toBe(404);
    expect(edit.body.message).toBe('Note not found');
    expect((await s.as('tech', path, { method: 'DELETE', body: { reason: 'again' } })).status).toBe(
      404,
    );

    const history = await s.as('admin', `${path}/revisions`);
    expect(history.status).toBe(200);
    expect(history.body.revisions.map((r: { text: string }) => r.text)).toEqual([PHI]);
    expect(history.body.deleted).toMatchObject({
      reason: 'written on the wrong case (MRN-NOTE-4711)',
    });

    const raw = await su.query(`SELECT delete_reason, deleted_at FROM case_notes WHERE id = $1`, [
      n.id,
    ]);
    expect(raw.rows[0].delete_reason).toMatch(/^enc:v1:/);
    const rows = await auditRows('/api/v1/cases/:id/notes/:note_id', since);
    const mine = rows.filter((r) => r.resource_id === String(n.id));
    expect(mine.filter((r) => r.outcome === 'success')).toEqual([
      expect.objectContaining({
        interaction: 'delete',
        resource_type: 'case_note',
        resource_id: String(n.id),
        http_status: 204,
        changed_fields: [{ field: 'reason' }],
      }),
    ]);
    // The refused deletes are on record too (the four 400s).
    expect(mine.filter((r) => r.http_status === 400).length).toBeGreaterThanOrEqual(4);
  });

  it('shows note events in the case timeline with the note and the actor, never the text', async () => {
    const caseId = await newCase();
    const n = (await post('tech', caseId, { text: PHI })).body;
    const path = `${notes(caseId)}/${n.id}`;
    await s.as('tech', path, { method: 'PUT', body: { text: `${PHI} (edited)` } });
    await s.as('admin', path, { method: 'DELETE', body: { reason: 'duplicate' } });
    const tl = await s.as('viewer', `/api/v1/cases/${caseId}/events`);
    expect(tl.status).toBe(200);
    const noteEvents = tl.body.events.filter((e: { event_type: string }) =>
      e.event_type.startsWith('note_'),
    );
    expect(
      noteEvents.map((e: { event_type: string; note_id: number }) => [e.event_type, e.note_id]),
    ).toEqual([
      ['note_created', n.id],
      ['note_edited', n.id],
      ['note_deleted', n.id],
    ]);
    expect(noteEvents[0].actor_user_id).toBe(n.author_id);
    expect(noteEvents[2].actor_user_id).not.toBe(n.author_id);
    expect(noteEvents.every((e: { reason: unknown }) => e.reason === null)).toBe(true);
    expect(tl.text).not.toContain('MRN-NOTE');
    expect(tl.text).not.toContain('duplicate');
  });

  it('another lab: its case, or this lab’s note under another case id, is 404 exactly like a missing one', async () => {
    const caseId = await newCase();
    const otherCase = await newCase();
    const n = (await post('tech', caseId, { text: PHI })).body;
    const missing = await s.as('lab2admin', `/api/v1/cases/2000000000/notes`);
    const foreign = await s.as('lab2admin', notes(caseId));
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toBe(missing.body.error);
    expect(foreign.body.message).toBe(missing.body.message);
    expect((await s.as('lab2admin', `${notes(caseId)}/${n.id}`)).status).toBe(404);
    expect((await post('lab2admin', caseId, { text: 'x' })).status).toBe(404);
    const moved = await s.as('viewer', `${notes(otherCase)}/${n.id}`);
    expect(moved.status).toBe(404);
    expect(moved.body.message).toBe('Note not found');
    expect(
      (await s.as('tech', `${notes(otherCase)}/${n.id}`, { method: 'PUT', body: { text: 'x' } }))
        .status,
    ).toBe(404);
    // Each foreign attempt on the case is a security event in the owning lab's trail.
    const ev = await su.query(
      `SELECT outcome_detail FROM audit_events WHERE lab_id = $1 AND resource_id = $2 AND event_type = 'security'`,
      [lab1, String(caseId)],
    );
    // One per attempt: the list, the note, the create.
    expect(ev.rows.map((r) => r.outcome_detail)).toEqual(Array(3).fill('CROSS_LAB_ATTEMPT'));
  });
});
