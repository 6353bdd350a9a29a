import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { loadEnv } from '@lhcms/config';
import { startStack, type Stack, testDatabaseUrls } from '@lhcms/testing';
import { outboxBacklog, pruneOutbox } from '../../apps/api/src/events';
import { binaryStl, newCase, upload } from '../attachments/attachment-test-helpers';

/**
 * The outbox as seen from outside: changes over HTTP (the real server and
 * ums-dev) leave their events, the attachment module's included; the
 * retention prune removes only dispatched events past the cutoff.
 */
describe('case outbox over HTTP, and its retention prune', () => {
  let s: Stack;
  let dir: string;
  let owner: Client;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lhcms-outbox-'));
    s = await startStack({ env: { ATTACHMENT_DIR: dir } });
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const events = async (caseId: number) =>
    (
      await owner.query<{ seq: number; type: string; payload: Record<string, unknown> }>(
        `SELECT seq::int AS seq, type, payload FROM case_outbox WHERE case_id = $1 ORDER BY seq`,
        [caseId],
      )
    ).rows;

  it('case.attachment_added: the attachment id and kind, never its filename; a deletion is not an outbox event', async () => {
    const caseId = await newCase(s, 'admin', 'OUTBOX-PATIENT-1');
    const up = await upload(s, 'tech', caseId, {
      file: { name: 'OUTBOX-PATIENT-1 upper jaw.stl', data: binaryStl(3) },
      kind: 'scan',
    });
    expect(up.status).toBe(201);
    const del = await s.as('tech', `/api/v1/cases/${caseId}/attachments/${up.json.id}`, {
      method: 'DELETE',
      body: { reason: 'wrong file' },
    });
    expect(del.status).toBeLessThan(300);
    const rows = await events(caseId);
    expect(rows.map((r) => [r.seq, r.type])).toEqual([
      [1, 'case.created'],
      [2, 'case.attachment_added'],
    ]);
    expect(rows[1].payload).toMatchObject({ attachment_id: up.json.id, attachment_kind: 'scan' });
    expect(JSON.stringify(rows)).not.toMatch(/OUTBOX-PATIENT|upper jaw|\.stl/);
  });

  it('a status change over HTTP commits its event; a refused one (412, 409) commits none', async () => {
    const caseId = await newCase(s);
    const stale = await s.as('admin', `/api/v1/cases/${caseId}/status`, {
      method: 'PATCH',
      headers: { 'if-match': '"99"' },
      body: { status: 'in_progress' },
    });
    expect(stale.status).toBe(412);
    const illegal = await s.as('admin', `/api/v1/cases/${caseId}/status`, {
      method: 'PATCH',
      body: { status: 'completed' },
    });
    expect(illegal.status).toBe(409);
    const ok = await s.as('admin', `/api/v1/cases/${caseId}/status`, {
      method: 'PATCH',
      body: { status: 'in_progress' },
    });
    expect(ok.status).toBe(200);
    expect((await events(caseId)).map((r) => r.type)).toEqual([
      'case.created',
      'case.status_changed',
    ]);
  });

  it('lhcms outbox prune: removes dispatched events older than N days, never undispatched ones; status reports the backlog', async () => {
    const caseId = await newCase(s);
    await s.as('admin', `/api/v1/cases/${caseId}`, { method: 'DELETE' });
    const ids = (
      await owner.query<{ id: string }>(
        `SELECT id::text FROM case_outbox WHERE case_id = $1 ORDER BY seq`,
        [caseId],
      )
    ).rows.map((r) => r.id);
    expect(ids).toHaveLength(2);
    // The first dispatched 40 days ago, the second not at all.
    await owner.query(
      `UPDATE case_outbox SET dispatched_at = now() - interval '40 days' WHERE id = $1`,
      [ids[0]],
    );
    const env = loadEnv({
      NODE_ENV: 'test',
      DATABASE_URL: testDatabaseUrls().appUrl,
      DATABASE_OWNER_URL: testDatabaseUrls().ownerUrl,
    });
    const backlog = await outboxBacklog(env);
    expect(backlog.undispatched).toBeGreaterThanOrEqual(1);
    expect(backlog.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect((await pruneOutbox(env, 41, { dryRun: true })).events).toBe(0);
    const dry = await pruneOutbox(env, 30, { dryRun: true });
    expect(dry.events).toBeGreaterThanOrEqual(1);
    const done = await pruneOutbox(env, 30);
    expect(done.events).toBe(dry.events);
    expect((await events(caseId)).map((r) => r.type)).toEqual(['case.deleted']);
    // As the application role the prune refuses (RLS would make it a silent no-op).
    const appEnv = loadEnv({ NODE_ENV: 'test', DATABASE_URL: testDatabaseUrls().appUrl });
    await expect(pruneOutbox(appEnv, 30)).rejects.toThrow(/schema owner/);
  });
});
