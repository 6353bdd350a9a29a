import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'pg';
import { loadEnv } from '@lhcms/config';
import { FilesystemObjectStore, newObjectKey } from '@lhcms/storage';
import { startStack, type Stack, testDatabaseUrls } from '@lhcms/testing';
import { attachmentsFsck } from '../../apps/api/src/attachments';
import { purgeExpiredCases } from '../../apps/api/src/cases/case-retention';
import { binaryStl, newCase, PDF, upload } from './attachment-test-helpers';

function objectFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.')) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** The retention purge removes a case's attachments (rows and objects); fsck finds and fixes drift. */
describe('attachments: retention purge and fsck', () => {
  let s: Stack;
  let dir: string;
  let owner: Client;
  let store: FilesystemObjectStore;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lhcms-att-life-'));
    s = await startStack({ env: { ATTACHMENT_DIR: dir } });
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
    store = new FilesystemObjectStore(dir);
  });
  afterAll(async () => {
    await owner.end();
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ownerEnv = () =>
    loadEnv({
      NODE_ENV: 'test',
      DATABASE_URL: testDatabaseUrls().appUrl,
      DATABASE_OWNER_URL: testDatabaseUrls().ownerUrl,
      DATA_RETENTION_DAYS: '30',
    });

  async function keysOf(caseId: number): Promise<string[]> {
    return (
      await owner.query<{ object_key: string }>(
        `SELECT object_key FROM attachments WHERE case_id = $1`,
        [caseId],
      )
    ).rows.map((r) => r.object_key);
  }

  it('a purged case takes its attachments with it: rows and objects; other cases keep theirs', async () => {
    const expired = await newCase(s);
    const kept = await newCase(s);
    for (const c of [expired, expired, kept]) {
      expect((await upload(s, 'tech', c, { file: { name: 'a.pdf', data: PDF } })).status).toBe(201);
    }
    const expiredKeys = await keysOf(expired);
    const keptKeys = await keysOf(kept);
    expect(expiredKeys).toHaveLength(2);
    // One of them soft-deleted first: its bytes stay until the purge too.
    const list = await s.as('admin', `/api/v1/cases/${expired}/attachments`);
    await s.as('tech', `/api/v1/cases/${expired}/attachments/${list.body.attachments[0].id}`, {
      method: 'DELETE',
      body: { reason: 'duplicate' },
    });
    expect((await s.as('admin', `/api/v1/cases/${expired}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    await owner.query(`UPDATE cases SET deleted_at = now() - interval '400 days' WHERE id = $1`, [
      expired,
    ]);

    const dry = await purgeExpiredCases(ownerEnv(), { dryRun: true, objects: store });
    expect(dry.attachments).toBeGreaterThanOrEqual(2);
    for (const k of expiredKeys) expect(objectFiles(dir)).toContain(k);

    const r = await purgeExpiredCases(ownerEnv(), { objects: store });
    expect(r.attachments).toBeGreaterThanOrEqual(2);
    expect(r.objectsLeft).toBe(0);
    expect(await keysOf(expired)).toEqual([]);
    const files = objectFiles(dir);
    for (const k of expiredKeys) expect(files).not.toContain(k);
    for (const k of keptKeys) expect(files).toContain(k);
  });

  it('fsck reports objects without a row and rows without an object; --fix removes the orphans only', async () => {
    const c = await newCase(s);
    const up = await upload(s, 'tech', c, { file: { name: 'x.stl', data: binaryStl(50) } });
    expect(up.status).toBe(201);
    const orphan = newObjectKey();
    await store.put(orphan, Readable.from([Buffer.from('left behind')]));
    const [lost] = await keysOf(c);
    await store.delete(lost);

    const report = await attachmentsFsck(ownerEnv(), store);
    expect(report.orphans).toContain(orphan);
    expect(report.missing).toContainEqual({
      attachment_id: up.json.id,
      case_id: c,
      lab_id: String(s.labs.lab1),
    });
    expect(objectFiles(dir)).toContain(orphan);

    const fixed = await attachmentsFsck(ownerEnv(), store, { fix: true, settleMs: 0 });
    expect(fixed.removed).toBeGreaterThanOrEqual(1);
    expect(objectFiles(dir)).not.toContain(orphan);
    const after = await attachmentsFsck(ownerEnv(), store);
    expect(after.orphans).toEqual([]);
    // The row without an object is flagged, never removed.
    expect(after.missing.map((m) => m.attachment_id)).toContain(up.json.id);
  });
});
