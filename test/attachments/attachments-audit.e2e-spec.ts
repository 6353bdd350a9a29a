import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { startStack, type Stack } from '@lhcms/testing';
import { superuserClient } from '../audit/audit-test-helpers';
import { binaryStl, download, newCase, PDF, upload } from './attachment-test-helpers';

/**
 * Every upload and delete leaves an audit row in its own transaction, every
 * list and download an audited disclosure (ids, bytes served), every refusal
 * a row too; none holds a filename or a patient identifier.
 */
describe('attachments: audit trail', () => {
  let s: Stack;
  let dir: string;
  let su: Client;
  let caseId: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lhcms-att-audit-'));
    s = await startStack({ env: { ATTACHMENT_DIR: dir } });
    su = await superuserClient();
    caseId = await newCase(s, 'admin', 'AUDIT-PATIENT-77');
  });
  afterAll(async () => {
    await su.end();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rowsFor(requestId: string) {
    return (
      await su.query(
        `SELECT lab_id, actor_user_id, action, interaction, resource_type, resource_id, patient_ref,
                entity_ids, subject_count, query, changed_fields, outcome, http_status
         FROM audit_events WHERE request_id = $1`,
        [requestId],
      )
    ).rows;
  }

  const requestIdOf = (h: Record<string, string | string[] | undefined>) =>
    String(h['x-request-id']);

  it('upload, list, download, range, delete: one row each, with ids and bytes, without PHI', async () => {
    const stl = binaryStl(1000);
    const up = await upload(s, 'tech', caseId, {
      file: { name: 'AUDIT-PATIENT-77 scan.stl', data: stl },
    });
    expect(up.status).toBe(201);
    const id = up.json.id as string;
    const created = await rowsFor(requestIdOf(up.headers));
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      lab_id: String(s.labs.lab1),
      action: 'C',
      interaction: 'create',
      resource_type: 'attachment',
      resource_id: id,
      outcome: 'success',
      http_status: 201,
    });
    expect(created[0].patient_ref).toEqual(expect.any(String));

    const list = await s.as('viewer', `/api/v1/cases/${caseId}/attachments`);
    const listed = await rowsFor(list.headers.get('x-request-id') ?? '');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      interaction: 'search',
      resource_type: 'attachment',
      entity_ids: [id],
      subject_count: 1,
      query: { case_id: caseId },
    });

    const got = await download(s, 'viewer', caseId, id);
    const read = await rowsFor(requestIdOf(got.headers));
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({
      action: 'R',
      interaction: 'read',
      resource_type: 'attachment',
      resource_id: id,
      query: { case_id: caseId, bytes_served: stl.length },
      outcome: 'success',
    });
    expect(read[0].patient_ref).toBe(created[0].patient_ref);

    const part = await download(s, 'viewer', caseId, id, { range: 'bytes=10-19' });
    const ranged = await rowsFor(requestIdOf(part.headers));
    expect(ranged[0]).toMatchObject({ query: { bytes_served: 10, range: '10-19' } });

    const del = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${id}`, {
      method: 'DELETE',
      body: { reason: 'AUDIT-PATIENT-77 wrong file' },
    });
    expect(del.status).toBe(204);
    const deleted = await rowsFor(del.headers.get('x-request-id') ?? '');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatchObject({ action: 'D', interaction: 'delete', resource_id: id });

    const all = JSON.stringify([created, listed, read, deleted]);
    expect(all).not.toContain('AUDIT-PATIENT-77');
    expect(all).not.toContain('scan.stl');
  });

  it('refusals are recorded too (a disguised file, a viewer upload, a missing attachment)', async () => {
    const disguised = await upload(s, 'tech', caseId, { file: { name: 'x.stl', data: PDF } });
    expect(disguised.status).toBe(415);
    expect((await rowsFor(requestIdOf(disguised.headers)))[0]).toMatchObject({
      interaction: 'create',
      outcome: 'error',
      http_status: 415,
    });
    const viewer = await upload(s, 'viewer', caseId, { file: { name: 'x.pdf', data: PDF } });
    expect((await rowsFor(requestIdOf(viewer.headers)))[0]).toMatchObject({
      outcome: 'denied',
      http_status: 403,
    });
    const missing = await download(s, 'viewer', caseId, '00000000-0000-4000-8000-000000000000');
    expect((await rowsFor(requestIdOf(missing.headers)))[0]).toMatchObject({
      interaction: 'read',
      http_status: 404,
    });
  });

  it("another lab's case on any attachment route: 404 like a missing case, and a security event in the owning lab's trail", async () => {
    const up = await upload(s, 'tech', caseId, { file: { name: 'x.stl', data: binaryStl(10) } });
    expect(up.status).toBe(201);
    const id = up.json.id as string;
    const missing = await s.as('lab2admin', '/api/v1/cases/2000000000/attachments');
    const attempts = [
      await s.as('lab2admin', `/api/v1/cases/${caseId}/attachments`),
      await download(s, 'lab2admin', caseId, id),
      await upload(s, 'lab2admin', caseId, { file: { name: 'y.stl', data: binaryStl(10) } }),
      await s.as('lab2admin', `/api/v1/cases/${caseId}/attachments/${id}`, {
        method: 'DELETE',
        body: { reason: 'not ours' },
      }),
    ];
    for (const a of attempts) expect(a.status).toBe(404);
    expect((attempts[0] as { body: { message: string } }).body.message).toBe(missing.body.message);
    const ev = await su.query(
      `SELECT outcome_detail, query FROM audit_events
        WHERE lab_id = $1 AND resource_id = $2 AND event_type = 'security'`,
      [String(s.labs.lab1), String(caseId)],
    );
    // One per attempt: list, download, upload, delete.
    expect(ev.rows.map((r) => r.outcome_detail)).toEqual(Array(4).fill('CROSS_LAB_ATTEMPT'));
    expect(ev.rows[0].query).toEqual({ actor_lab_id: String(s.labs.lab2) });
    // The attachment is untouched.
    expect((await download(s, 'viewer', caseId, id)).status).toBe(200);
  });
});
