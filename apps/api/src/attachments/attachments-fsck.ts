import type { Env } from '@lhcms/config';
import type { ObjectStore } from '@lhcms/storage';
import { Client } from 'pg';
import { insertStatement, systemRecord } from '../audit';

export interface FsckReport {
  rows: number;
  objects: number;
  /** Objects no row names (left by a crash, a failed purge delete): removed with `fix`. */
  orphans: string[];
  removed: number;
  /** Rows whose object is missing: flagged (ids only), never changed; their download is a 500. */
  missing: Array<{ attachment_id: string; case_id: number; lab_id: string }>;
}

/**
 * `lhcms attachments fsck [--fix]`, as the owner role (every lab): compares
 * the object store with the attachments table. Objects without a row are
 * reported and, with `fix`, removed; rows without an object are reported.
 * An upload stores its object before its row is inserted, so an object
 * without a row may be an upload in progress: `fix` looks again after
 * `settleMs` and removes only what still has no row (docs/operations.md).
 * With `fix`, the run is audited (counts only).
 */
export async function attachmentsFsck(
  env: Env,
  store: ObjectStore,
  opts: { fix?: boolean; settleMs?: number } = {},
): Promise<FsckReport> {
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  try {
    const known = async (): Promise<Set<string>> =>
      new Set(
        (await db.query<{ object_key: string }>(`SELECT object_key FROM attachments`)).rows.map(
          (r) => r.object_key,
        ),
      );
    const rows = await db.query<{
      id: string;
      case_id: number;
      lab_id: string;
      object_key: string;
    }>(
      `SELECT id::text AS id, case_id, lab_id, object_key FROM attachments ORDER BY created_at, id`,
    );
    const keys = new Set(rows.rows.map((r) => r.object_key));
    const stored = new Set<string>();
    for await (const key of store.keys()) stored.add(key);
    const report: FsckReport = {
      rows: rows.rows.length,
      objects: stored.size,
      orphans: [...stored].filter((k) => !keys.has(k)).sort(),
      removed: 0,
      missing: rows.rows
        .filter((r) => !stored.has(r.object_key))
        .map((r) => ({ attachment_id: r.id, case_id: r.case_id, lab_id: r.lab_id })),
    };
    if (opts.fix && report.orphans.length > 0) {
      await new Promise((r) => setTimeout(r, opts.settleMs ?? 60_000));
      const now = await known();
      for (const key of report.orphans) {
        if (now.has(key)) continue;
        await store.delete(key);
        report.removed++;
      }
      const { text, params } = insertStatement([
        systemRecord({
          interaction: 'purge',
          resource_type: 'Attachment',
          tool: 'lhcms attachments fsck --fix',
          subjectCount: report.removed,
          query: {
            orphan_objects_removed: report.removed,
            rows_without_object: report.missing.length,
          },
        }),
      ]);
      await db.query(text, params);
    }
    return report;
  } finally {
    await db.end();
  }
}
