import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { CasesErrorCode } from '../../apps/api/src/case-model/cases.errors';
import { type CaseActor, CasesService } from '../../apps/api/src/cases/cases.service';
import { decodeQueueCursor } from '../../apps/api/src/cases/dto/list-query';
import { AuthErrorCode } from '../../apps/api/src/ums-gateway/ums-gateway.errors';

/**
 * Service tier: the case use cases on the real wiring (AppModule, real
 * PostgreSQL with row-level security, encryption, audit), called directly:
 * no HTTP server, no UMS, no token. What the HTTP layer adds (routes,
 * validation, status codes) is the e2e tier's.
 */
describe('CasesService (service tier: Nest module + PostgreSQL, no HTTP)', () => {
  let mod: TestingModule;
  let cases: CasesService;
  let owner: Client;
  // A lab of its own: the run's database is shared by the test files running beside this one.
  const labId = `svc${randomInt(1e9)}`;
  const actor: CaseActor = {
    userId: 'svc-user',
    labId,
    labCode: 'SVC',
    token: 'unused: no directory is configured',
    canReopen: false,
  };
  const newCase = { doctor_id: 'd1', product_id: 'p1', case_type: 'denture' as const };

  /** The DomainError code a promise rejects with. */
  const codeOf = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => 'resolved',
      (e: { code?: unknown }) => e.code,
    );

  beforeAll(async () => {
    mod = await Test.createTestingModule({ imports: [AppModule.forRoot(testEnv())] }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    cases = mod.get(CasesService);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });

  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  it('creates a case: pending, version 1, numbered in the lab, with its event and audit row', async () => {
    const { case: c, replayed } = await cases.create(actor, {
      ...newCase,
      patient_info: { patient_id: 'MRN-SVC-1', name: 'Service Tier' },
    });
    expect(replayed).toBe(false);
    expect(c).toMatchObject({ status: 'pending', version: 1 });
    expect(c.case_number).toMatch(/^SVC-\d{4}-0001$/);
    expect(c.patient_info).toEqual({ patient_id: 'MRN-SVC-1', name: 'Service Tier' });

    // Stored encrypted; the event and the audit row committed with the case.
    const stored = await owner.query<{ patient_info: string }>(
      `SELECT patient_info FROM cases WHERE id = $1`,
      [c.id],
    );
    expect(stored.rows[0].patient_info).not.toContain('MRN-SVC-1');
    const { events } = await cases.timeline(actor, c.id);
    expect(events.map((e) => e.event_type)).toEqual(['created']);
    const audit = await owner.query(
      `SELECT interaction, actor_type FROM audit_events WHERE lab_id = $1 AND resource_id = $2`,
      [labId, String(c.id)],
    );
    expect(audit.rows).toEqual([{ interaction: 'create', actor_type: 'system' }]);
  });

  it('gets a case by id and by number; another lab sees nothing', async () => {
    const { case: c } = await cases.create(actor, newCase);
    await expect(cases.get(actor, c.id)).resolves.toMatchObject({ id: c.id, version: 1 });
    await expect(cases.getByNumber(actor, c.case_number ?? '')).resolves.toMatchObject({
      id: c.id,
    });
    const stranger = { ...actor, labId: `${labId}x` };
    expect(await codeOf(cases.get(stranger, c.id))).toBe(CasesErrorCode.CaseNotFound);
    expect(await codeOf(cases.get(actor, 2_000_000_000))).toBe(CasesErrorCode.CaseNotFound);
  });

  it('replays a create with the same idempotency key, and refuses the key for another body', async () => {
    const key = `svc-key-${randomInt(1e9)}`;
    const first = await cases.create(actor, newCase, key);
    const again = await cases.create(actor, newCase, key);
    expect(again).toEqual({ case: first.case, replayed: true });
    expect(await codeOf(cases.create(actor, { ...newCase, doctor_id: 'd2' }, key))).toBe(
      CasesErrorCode.IdempotencyKeyReused,
    );
  });

  it('updates with the current version and refuses a stale one, changing nothing', async () => {
    const { case: c } = await cases.create(actor, newCase);
    const updated = await cases.update(actor, c.id, { priority: 'high' }, { ifMatch: 1 });
    expect(updated).toMatchObject({ priority: 'high', version: 2 });

    const stale = cases.update(actor, c.id, { priority: 'low' }, { ifMatch: 1 });
    await expect(stale).rejects.toMatchObject({
      code: CasesErrorCode.VersionMismatch,
      details: { current_etag: '"2"' },
    });
    await expect(cases.get(actor, c.id)).resolves.toMatchObject({ priority: 'high', version: 2 });
  });

  it('refuses an illegal status transition with the allowed next states, and a reopen without case:reopen', async () => {
    const { case: c } = await cases.create(actor, newCase);
    await expect(cases.changeStatus(actor, c.id, 'completed', undefined)).rejects.toMatchObject({
      code: CasesErrorCode.IllegalTransition,
      details: {
        current_status: 'pending',
        allowed_transitions: ['in_progress', 'on_hold', 'cancelled'],
      },
    });
    expect(await codeOf(cases.changeStatus(actor, c.id, 'cancelled', undefined))).toBe(
      CasesErrorCode.ReasonRequired,
    );

    const started = await cases.changeStatus(actor, c.id, 'in_progress', undefined);
    expect(started).toMatchObject({ status: 'in_progress', stage: 'received', version: 2 });
    await cases.changeStatus(actor, c.id, 'completed', undefined);
    expect(await codeOf(cases.changeStatus(actor, c.id, 'in_progress', 'redo'))).toBe(
      AuthErrorCode.MissingPermission,
    );
    const reopened = await cases.changeStatus(
      { ...actor, canReopen: true },
      c.id,
      'in_progress',
      'redo',
    );
    expect(reopened).toMatchObject({ status: 'in_progress', version: 4 });
    const { events } = await cases.timeline(actor, c.id);
    expect(events.map((e) => e.event_type)).toEqual([
      'created',
      'status_changed',
      'status_changed',
      'reopened',
    ]);
  });

  it('of two concurrent status changes on one version, exactly one wins', async () => {
    const { case: c } = await cases.create(actor, newCase);
    const outcomes = await Promise.allSettled([
      cases.changeStatus(actor, c.id, 'in_progress', undefined, { ifMatch: 1 }),
      cases.changeStatus(actor, c.id, 'cancelled', 'duplicate order', { ifMatch: 1 }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toMatchObject({
      code: CasesErrorCode.VersionMismatch,
      details: { current_etag: '"2"' },
    });
    const winner = won[0].value.status;
    await expect(cases.get(actor, c.id)).resolves.toMatchObject({ status: winner, version: 2 });
    // One status event: the loser left no trace in the timeline.
    const { events } = await cases.timeline(actor, c.id);
    expect(events.map((e) => [e.event_type, e.to_status])).toEqual([
      ['created', 'pending'],
      ['status_changed', winner],
    ]);
  });

  it('moves stages forward freely, backward only with a reason, and only while in progress', async () => {
    const { case: c } = await cases.create(actor, newCase);
    expect(await codeOf(cases.changeStage(actor, c.id, 'design', undefined))).toBe(
      CasesErrorCode.InvalidStage,
    );
    await cases.changeStatus(actor, c.id, 'in_progress', undefined);
    await expect(cases.changeStage(actor, c.id, 'qc', undefined)).resolves.toMatchObject({
      stage: 'qc',
    });
    expect(await codeOf(cases.changeStage(actor, c.id, 'painting', undefined))).toBe(
      CasesErrorCode.InvalidStage,
    );
    expect(await codeOf(cases.changeStage(actor, c.id, 'design', undefined))).toBe(
      CasesErrorCode.ReasonRequired,
    );
    await expect(cases.changeStage(actor, c.id, 'design', 'QC failed')).resolves.toMatchObject({
      stage: 'design',
    });
    const { events } = await cases.timeline(actor, c.id);
    expect(events.filter((e) => e.event_type === 'stage_changed').map((e) => e.to_stage)).toEqual([
      'qc',
      'design',
    ]);
    expect(events[events.length - 1].reason).toBe('QC failed');
  });

  it('bulk status: each case on its own, a failure undoes none of the others', async () => {
    const a = (await cases.create(actor, newCase)).case;
    const b = (await cases.create(actor, newCase)).case;
    await cases.changeStatus(actor, b.id, 'cancelled', 'duplicate');
    const elsewhere = (await cases.create({ ...actor, labId: `${labId}y` }, newCase)).case;
    const result = await cases.bulkStatus(actor, [a.id, b.id, elsewhere.id], 'in_progress');
    expect(result).toMatchObject({
      succeeded: 1,
      failed: 2,
      results: [
        { id: a.id, ok: true, status: 'in_progress', version: 2 },
        { id: b.id, ok: false, code: 409, allowed_transitions: [] },
        { id: elsewhere.id, ok: false, code: 404 },
      ],
    });
    await expect(cases.get(actor, a.id)).resolves.toMatchObject({ status: 'in_progress' });
    await expect(cases.get({ ...actor, labId: `${labId}y` }, elsewhere.id)).resolves.toMatchObject({
      status: 'pending',
      version: 1,
    });
  });

  it('deletes softly: the case is gone for reads and writes, the audit row stays', async () => {
    const { case: c } = await cases.create(actor, newCase);
    expect(await codeOf(cases.remove(actor, c.id, { ifMatch: 7 }))).toBe(
      CasesErrorCode.VersionMismatch,
    );
    await cases.remove(actor, c.id, { ifMatch: 1 });
    expect(await codeOf(cases.get(actor, c.id))).toBe(CasesErrorCode.CaseNotFound);
    expect(await codeOf(cases.update(actor, c.id, { priority: 'low' }))).toBe(
      CasesErrorCode.CaseNotFound,
    );
    expect(await codeOf(cases.remove(actor, c.id))).toBe(CasesErrorCode.CaseNotFound);
    const audit = await owner.query(
      `SELECT interaction FROM audit_events WHERE lab_id = $1 AND resource_id = $2 ORDER BY seq`,
      [labId, String(c.id)],
    );
    expect(audit.rows.map((r: { interaction: string }) => r.interaction)).toEqual([
      'create',
      'delete',
    ]);
  });

  it('lists by page and by cursor, and finds a patient by id (through the blind index)', async () => {
    const lab = { ...actor, labId: `${labId}l` };
    const made = [];
    for (let i = 0; i < 3; i++)
      made.push(
        (
          await cases.create(lab, {
            ...newCase,
            patient_info: { patient_id: `MRN-LIST-${i}` },
          })
        ).case.id,
      );
    const page = await cases.list(lab, { mode: 'page', page: 1, perPage: 2, filters: {} });
    expect(page).toMatchObject({
      pagination: { page: 1, per_page: 2, total: 3, pages: 2, has_next: true },
    });
    expect(page.cases).toHaveLength(2);

    const seen: number[] = [];
    let cursor: string | null | undefined;
    do {
      const next = await cases.list(lab, {
        mode: 'cursor',
        cursor: cursor ? decodeQueueCursor(cursor) : undefined,
        limit: 2,
        filters: {},
      });
      if (!('next_cursor' in next)) throw new Error('not a cursor page');
      seen.push(...next.cases.map((c) => c.id));
      cursor = next.next_cursor;
    } while (cursor);
    expect([...seen].sort((x, y) => x - y)).toEqual(made);

    const found = await cases.list(lab, {
      mode: 'page',
      page: 1,
      perPage: 10,
      filters: { patient_id: 'MRN-LIST-1' },
    });
    expect(found.cases.map((c) => c.id)).toEqual([made[1]]);
  });
});
