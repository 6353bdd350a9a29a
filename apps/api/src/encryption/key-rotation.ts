import { randomBytes } from 'node:crypto';
import type { Env } from '@lhcms/config';
import {
  type DataKey,
  decryptField,
  deriveKey,
  encryptField,
  isEncrypted,
  type KekProvider,
  keyVersionOf,
  patientRef,
} from '@lhcms/crypto';
import { Client } from 'pg';
import { insertStatement, systemRecord } from '../audit';
import { dataKeyContext } from './data-key.service';
import { kekProviderFrom } from './kek-provider.factory';
import { ENCRYPTED_TEXT_COLUMNS, type EncryptedTextColumn } from './encrypted-text';
import { PHI_COLUMNS } from './phi-cipher';

export interface RotationReport {
  rewrapped: number;
  newDataKeys: number;
  reencryptedCases: number;
  /** Free-text values of the other tables (ENCRYPTED_TEXT_COLUMNS) rewritten under the newest key. */
  reencryptedTexts: number;
}

interface KeyRow {
  lab_id: string;
  key_version: number;
  wrapped_key: Buffer;
  kek_id: string;
}

/**
 * `lhcms keys rotate`, as the owner role (cross-lab), without downtime:
 * 1. re-wrap every data key not wrapped by the current KEK (running replicas
 *    keep working: they unwrap with the current or a retired KEK);
 * 2. with `newDataKeys`, add a new data key version per lab (new writes use
 *    it; old values stay readable under their stored version);
 * 3. with `reencrypt`, rewrite every case's PHI, and every free-text value
 *    of ENCRYPTED_TEXT_COLUMNS (timeline reasons, notes and their revisions,
 *    attachment filenames), under its lab's newest data key (this also
 *    encrypts values written before encryption existed). The append-only
 *    tables let the owner change the ciphertext column, and nothing else,
 *    while `lhcms.reencrypt` is on in its session (migration
 *    ReencryptAppendOnly).
 */
export async function rotateKeys(
  env: Env,
  opts: { newDataKeys?: boolean; reencrypt?: boolean; kek?: KekProvider } = {},
): Promise<RotationReport> {
  const kek = opts.kek ?? kekProviderFrom(env);
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  const report: RotationReport = {
    rewrapped: 0,
    newDataKeys: 0,
    reencryptedCases: 0,
    reencryptedTexts: 0,
  };
  try {
    const keys = (
      await db.query<KeyRow>(
        `SELECT lab_id, key_version, wrapped_key, kek_id FROM lab_data_keys ORDER BY lab_id, key_version`,
      )
    ).rows;
    const plain = new Map<string, DataKey>();
    for (const k of keys) {
      const key = await kek.unwrap(
        { wrapped: k.wrapped_key, kekId: k.kek_id },
        dataKeyContext(k.lab_id),
      );
      plain.set(`${k.lab_id}:${k.key_version}`, { version: k.key_version, key });
      if (k.kek_id !== kek.currentKekId) {
        const w = await kek.wrap(key, dataKeyContext(k.lab_id));
        await db.query(
          `UPDATE lab_data_keys SET wrapped_key = $3, kek_id = $4, kek_provider = $5, rewrapped_at = now() WHERE lab_id = $1 AND key_version = $2`,
          [k.lab_id, k.key_version, w.wrapped, w.kekId, kek.name],
        );
        report.rewrapped++;
      }
    }
    const latest = new Map<string, DataKey>();
    for (const dk of [...plain.entries()]) {
      const lab = dk[0].slice(0, dk[0].lastIndexOf(':'));
      if ((latest.get(lab)?.version ?? 0) < dk[1].version) latest.set(lab, dk[1]);
    }
    if (opts.newDataKeys) {
      for (const [lab, cur] of latest) {
        const next = { version: cur.version + 1, key: randomBytes(32) };
        const w = await kek.wrap(next.key, dataKeyContext(lab));
        await db.query(
          `INSERT INTO lab_data_keys (lab_id, key_version, wrapped_key, kek_provider, kek_id) VALUES ($1, $2, $3, $4, $5)`,
          [lab, next.version, w.wrapped, kek.name, w.kekId],
        );
        plain.set(`${lab}:${next.version}`, next);
        latest.set(lab, next);
        report.newDataKeys++;
      }
    }
    if (opts.reencrypt) {
      const blindKey = deriveKey(env.SECRET_KEY ?? '', 'blind-index');
      report.reencryptedCases = await reencryptCases(db, kek, plain, latest, blindKey);
      await db.query(`SELECT set_config('lhcms.reencrypt', 'on', false)`);
      try {
        for (const col of ENCRYPTED_TEXT_COLUMNS) {
          report.reencryptedTexts += await reencryptTexts(db, col, plain, latest);
        }
      } finally {
        await db.query(`SELECT set_config('lhcms.reencrypt', '', false)`);
      }
    }
    // Key rotation is an administrative event of the audit trail (counts only).
    const { text, params } = insertStatement([
      systemRecord({
        interaction: 'key_rotation',
        resource_type: 'DataKey',
        tool: 'lhcms keys rotate',
        subjectCount: report.rewrapped + report.newDataKeys,
        query: { kek_provider: kek.name, kek_id: kek.currentKekId, ...report },
      }),
    ]);
    await db.query(text, params);
    return report;
  } finally {
    await db.end();
  }
}

async function reencryptCases(
  db: Client,
  kek: KekProvider,
  plain: Map<string, DataKey>,
  latest: Map<string, DataKey>,
  blindKey: Buffer,
): Promise<number> {
  const cols = PHI_COLUMNS.map((c) => c.column);
  let done = 0;
  let lastId = 0;
  for (;;) {
    const batch = await db.query<Record<string, unknown> & { id: number; lab_id: string }>(
      `SELECT id, lab_id, patient_id_bidx, ${cols.join(', ')} FROM cases WHERE id > $1 ORDER BY id LIMIT 500`,
      [lastId],
    );
    if (batch.rows.length === 0) return done;
    for (const row of batch.rows) {
      lastId = row.id;
      let target = latest.get(row.lab_id);
      if (!target) {
        // A lab with plaintext rows and no key yet: give it one.
        target = { version: 1, key: randomBytes(32) };
        const w = await kek.wrap(target.key, dataKeyContext(row.lab_id));
        await db.query(
          `INSERT INTO lab_data_keys (lab_id, key_version, wrapped_key, kek_provider, kek_id) VALUES ($1, 1, $2, $3, $4)`,
          [row.lab_id, w.wrapped, kek.name, w.kekId],
        );
        plain.set(`${row.lab_id}:1`, target);
        latest.set(row.lab_id, target);
      }
      const values: unknown[] = [];
      let bidx = row.patient_id_bidx as string | null;
      for (const c of cols) {
        const stored = row[c];
        if (typeof stored !== 'string') {
          values.push(stored);
          continue;
        }
        const aad = `${row.lab_id}|${c}`;
        const v = keyVersionOf(stored);
        if (v === target.version) {
          values.push(stored);
          continue;
        }
        const text = isEncrypted(stored)
          ? decryptField(plain.get(`${row.lab_id}:${v}`)!, aad, stored)
          : stored;
        if (c === 'patient_info' && bidx === null) {
          const id = (JSON.parse(text) as { patient_id?: unknown } | null)?.patient_id;
          if (typeof id === 'string' && id.trim() !== '')
            bidx = patientRef(blindKey, row.lab_id, id);
        }
        values.push(encryptField(target, aad, text));
      }
      await db.query(
        `UPDATE cases SET ${cols.map((c, i) => `${c} = $${i + 3}`).join(', ')}, patient_id_bidx = $2 WHERE id = $1`,
        [row.id, bidx, ...values],
      );
      done++;
    }
  }
}

/**
 * One column of ENCRYPTED_TEXT_COLUMNS under each lab's newest data key, in
 * keyset batches. A lab without a data key has no encrypted values and its
 * plaintext (legacy) values have no key to go under: reencryptCases has
 * given every lab with cases one, so only labs without cases are left out.
 */
async function reencryptTexts(
  db: Client,
  col: EncryptedTextColumn,
  plain: Map<string, DataKey>,
  latest: Map<string, DataKey>,
): Promise<number> {
  const keys = col.key.join(', ');
  let done = 0;
  let last: unknown[] | undefined;
  for (;;) {
    const after = last ? `AND (${keys}) > (${col.key.map((_, i) => `$${i + 1}`).join(', ')})` : '';
    const batch = await db.query<Record<string, unknown> & { lab_id: string }>(
      `SELECT lab_id, ${keys}, ${col.column} AS value FROM ${col.table}
        WHERE ${col.column} IS NOT NULL ${after} ORDER BY ${keys} LIMIT 500`,
      last ?? [],
    );
    if (batch.rows.length === 0) return done;
    for (const row of batch.rows) {
      last = col.key.map((k) => row[k]);
      const stored = row.value as string;
      const target = latest.get(row.lab_id);
      const v = keyVersionOf(stored);
      if (!target || v === target.version) continue;
      const aad = `${row.lab_id}|${col.binding(row)}`;
      const text = isEncrypted(stored)
        ? decryptField(plain.get(`${row.lab_id}:${v}`)!, aad, stored)
        : stored;
      await db.query(
        `UPDATE ${col.table} SET ${col.column} = $1
          WHERE ${col.key.map((k, i) => `${k} = $${i + 2}`).join(' AND ')}`,
        [encryptField(target, aad, text), ...last],
      );
      done++;
    }
  }
}
