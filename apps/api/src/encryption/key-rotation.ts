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
import { PHI_COLUMNS } from './phi-cipher';

export interface RotationReport {
  rewrapped: number;
  newDataKeys: number;
  reencryptedCases: number;
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
 * 3. with `reencrypt`, rewrite every case's PHI under its lab's newest data
 *    key (this also encrypts values written before encryption existed).
 */
export async function rotateKeys(
  env: Env,
  opts: { newDataKeys?: boolean; reencrypt?: boolean; kek?: KekProvider } = {},
): Promise<RotationReport> {
  const kek = opts.kek ?? kekProviderFrom(env);
  const db = new Client({ connectionString: env.ownerDatabaseUrl });
  await db.connect();
  const report: RotationReport = { rewrapped: 0, newDataKeys: 0, reencryptedCases: 0 };
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
