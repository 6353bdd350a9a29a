import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import {
  createTestDatabase,
  eventually,
  freePort,
  startStack,
  testDatabaseUrls,
  testEnv,
  TEST_LOCAL_KEK,
  type Stack,
  type TestDatabase,
} from '@lhcms/testing';
import { Client } from 'pg';
import { rotateKeys } from '../../apps/api/src/encryption/key-rotation';
import { localKms, requireTool } from '../deploy/tools';
import { binaryStl, upload } from '../attachments/attachment-test-helpers';
import { ENCRYPTED_TEXT_COLUMNS } from '../../apps/api/src/encryption';

const PHI_COLUMNS = [
  'patient_info',
  'case_name',
  'description',
  'special_instructions',
  'fixed_prosthetic_details',
  'denture_details',
  'night_guard_details',
  'implant_details',
];

const MARK = 'PHI-MARKER-7f3a';
const phiCase = (patientId = `MRN-${MARK}`) => ({
  doctor_id: 'enc-doc',
  product_id: 'p',
  case_type: 'fixed_prosthetic',
  case_name: `Crown for ${MARK}`,
  description: `History ${MARK}`,
  special_instructions: `Call ${MARK}`,
  patient_info: { patient_id: patientId, age: 61, medical_history: `Allergy ${MARK}` },
  fixed_prosthetic: {
    type: 'crown',
    material: 'emax',
    tooth_numbers: [3],
    shade: { shade_system: 'custom', shade_value: 'X', notes: `note ${MARK}` },
  },
  denture: { type: 'immediate', material: 'acrylic_resin' },
  night_guard: { type: 'soft_guard', material: 'soft_vinyl', arch: 'upper' },
  implant: {
    implant_system: 'bicon',
    implant_diameter: '4.0mm',
    implant_length: '8mm',
    tooth_number: 3,
  },
});

async function rawRow(ownerUrl: string, id: number): Promise<Record<string, unknown>> {
  const c = new Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    return (await c.query('SELECT * FROM cases WHERE id = $1', [id])).rows[0];
  } finally {
    await c.end();
  }
}

describe('PHI field encryption (local KEK)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  it('stores every PHI field as ciphertext and returns plaintext to authorised callers', async () => {
    const created = await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase() });
    expect(created.status).toBe(201);
    const raw = await rawRow(testDatabaseUrls().ownerUrl, created.body.id);
    for (const col of PHI_COLUMNS) {
      expect({ col, value: String(raw[col]).slice(0, 7) }).toEqual({ col, value: 'enc:v1:' });
    }
    expect(JSON.stringify(raw)).not.toContain(MARK);
    expect(raw.doctor_id).toBe('enc-doc'); // non-PHI stays queryable
    const read = await s.as('viewer', `/api/v1/cases/${created.body.id}`);
    expect(read.body.patient_info).toEqual(phiCase().patient_info);
    expect(read.body.case_name).toBe(`Crown for ${MARK}`);
    expect(read.body.fixed_prosthetic.shade.notes).toBe(`note ${MARK}`);
    const listed = await s.as('viewer', '/api/v1/cases/?doctor_id=enc-doc');
    expect(listed.body.cases[0].special_instructions).toBe(`Call ${MARK}`);
  });

  it('finds cases by exact patient_id through the keyed blind index', async () => {
    const id = (
      await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase('MRN-BLIND-1') })
    ).body.id;
    const hit = await s.as('admin', '/api/v1/cases/?patient_id=MRN-BLIND-1');
    expect(hit.body.cases.map((c: any) => c.id)).toEqual([id]);
    expect((await s.as('admin', '/api/v1/cases/?patient_id=MRN-BLIND-2')).body.cases).toEqual([]);
    // The blind index is per lab: lab 2 searching the same id finds nothing.
    expect((await s.as('lab2admin', '/api/v1/cases/?patient_id=MRN-BLIND-1')).body.cases).toEqual(
      [],
    );
    const raw = await rawRow(testDatabaseUrls().ownerUrl, id);
    expect(raw.patient_id_bidx).toEqual(expect.any(String));
    expect(String(raw.patient_id_bidx)).not.toContain('BLIND');
    // Changing the patient moves the index.
    await s.as('admin', `/api/v1/cases/${id}`, {
      method: 'PUT',
      body: { patient_info: { patient_id: 'MRN-BLIND-3' } },
    });
    expect(
      (await s.as('admin', '/api/v1/cases/?patient_id=MRN-BLIND-3')).body.cases.map(
        (c: any) => c.id,
      ),
    ).toEqual([id]);
    expect((await s.as('admin', '/api/v1/cases/?patient_id=MRN-BLIND-1')).body.cases).toEqual([]);
  });

  it('a ciphertext moved to another lab or column does not decrypt (503-free: it is refused as tampering)', async () => {
    const a = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase('MRN-MOVE') }))
      .body.id;
    const c = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await c.connect();
    try {
      await c.query(`UPDATE cases SET description = case_name WHERE id = $1`, [a]);
    } finally {
      await c.end();
    }
    const res = await s.as('admin', `/api/v1/cases/${a}`);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain(MARK);
  });
});

describe('key rotation and legacy plaintext (own database)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_keys');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
  });
  afterAll(() => db.drop());

  const kekB = Buffer.alloc(32, 0x3c).toString('base64');
  const onDb = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.appUrl,
    DATABASE_OWNER_URL: db.ownerUrl,
    ...extra,
  });

  it('re-wraps under a new KEK without downtime; old rows stay readable; re-encryption moves them to the new data key', async () => {
    const before = await startStack({ env: onDb() });
    const seedOfBefore = before.seed;
    const ids: number[] = [];
    try {
      for (let i = 0; i < 3; i++)
        ids.push(
          (
            await before.as('admin', '/api/v1/cases/', {
              method: 'POST',
              body: phiCase(`MRN-R${i}`),
            })
          ).body.id,
        );
      // A row written before encryption existed (plaintext, as the migration left it).
      const c = new Client({ connectionString: db.ownerUrl });
      await c.connect();
      const legacy = await c.query(
        `INSERT INTO cases (lab_id, doctor_id, product_id, case_type, patient_info, case_name) VALUES ($1, 'legacy', 'p', 'other', $2, 'Legacy name') RETURNING id`,
        [String(before.labs.lab1), JSON.stringify({ patient_id: 'MRN-LEGACY' })],
      );
      await c.end();
      ids.push(legacy.rows[0].id);
      const legacyRead = await before.as('admin', `/api/v1/cases/${legacy.rows[0].id}`);
      expect(legacyRead.body.patient_info).toEqual({ patient_id: 'MRN-LEGACY' });

      // Rotate while the old instance still runs: new KEK current, old one retired.
      const rotateEnv = testEnv({
        ...onDb(),
        ENCRYPTION_LOCAL_KEK: kekB,
        ENCRYPTION_LOCAL_KEKS_RETIRED: TEST_LOCAL_KEK,
      });
      const r1 = await rotateKeys(rotateEnv, { newDataKeys: true });
      expect(r1).toMatchObject({ rewrapped: 1, newDataKeys: 1 });
      // The rotation is in the audit trail, with counts only.
      const audited = new Client({ connectionString: db.ownerUrl });
      await audited.connect();
      const rotation = await audited.query(
        `SELECT action, actor_type, subject_count, query FROM audit_events WHERE interaction = 'key_rotation'`,
      );
      await audited.end();
      expect(rotation.rows).toEqual([
        expect.objectContaining({ action: 'U', actor_type: 'system', subject_count: 2 }),
      ]);
      expect(rotation.rows[0].query).toMatchObject({
        rewrapped: 1,
        newDataKeys: 1,
        kek_provider: 'local',
      });

      expect((await before.as('viewer', `/api/v1/cases/${ids[0]}`)).status).toBe(200); // old instance unaffected
    } finally {
      await before.close();
    }

    // A new instance that only knows the new KEK reads everything.
    const after = await startStack({
      env: onDb({ ENCRYPTION_LOCAL_KEK: kekB }),
      seed: seedOfBefore,
    });
    try {
      for (const id of ids.slice(0, 3)) {
        const res = await after.as('viewer', `/api/v1/cases/${id}`);
        expect(res.status).toBe(200);
        expect(res.body.description).toBe(`History ${MARK}`);
      }
      const fresh = (
        await after.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase('MRN-NEW') })
      ).body.id;
      expect(String((await rawRow(db.ownerUrl, fresh)).patient_info)).toMatch(/^enc:v1:2:/);
      expect(String((await rawRow(db.ownerUrl, ids[0])).patient_info)).toMatch(/^enc:v1:1:/);

      const r2 = await rotateKeys(testEnv({ ...onDb(), ENCRYPTION_LOCAL_KEK: kekB }), {
        reencrypt: true,
      });
      expect(r2.rewrapped).toBe(0);
      expect(r2.reencryptedCases).toBeGreaterThanOrEqual(4);
      for (const id of ids) {
        const raw = await rawRow(db.ownerUrl, id);
        expect(String(raw.patient_info)).toMatch(/^enc:v1:2:/);
        expect(String(raw.case_name)).toMatch(/^enc:v1:2:/);
      }
      const legacyNow = await after.as('admin', `/api/v1/cases/${ids[3]}`);
      expect(legacyNow.body).toMatchObject({
        case_name: 'Legacy name',
        patient_info: { patient_id: 'MRN-LEGACY' },
      });
      expect(
        (await after.as('admin', '/api/v1/cases/?patient_id=MRN-LEGACY')).body.cases,
      ).toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});

describe('key rotation of the other encrypted texts (own database)', () => {
  let db: TestDatabase;
  let attachmentDir: string;
  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_keys_text');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    attachmentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-keys-att-'));
  });
  afterAll(async () => {
    await db.drop();
    fs.rmSync(attachmentDir, { recursive: true, force: true });
  });

  /** Every stored value of ENCRYPTED_TEXT_COLUMNS in the database, with its column. */
  async function storedTexts(): Promise<Array<{ column: string; value: string }>> {
    const c = new Client({ connectionString: db.ownerUrl });
    await c.connect();
    try {
      const out: Array<{ column: string; value: string }> = [];
      for (const col of ENCRYPTED_TEXT_COLUMNS) {
        const r = await c.query<{ value: string }>(
          `SELECT ${col.column} AS value FROM ${col.table} WHERE ${col.column} IS NOT NULL`,
        );
        for (const row of r.rows)
          out.push({ column: `${col.table}.${col.column}`, value: row.value });
      }
      return out;
    } finally {
      await c.end();
    }
  }

  it('--reencrypt moves timeline reasons, notes, their revisions and deletion reasons, and attachment filenames to the new data key; the append-only tables refuse every other change', async () => {
    const s = await startStack({
      env: {
        DATABASE_URL: db.appUrl,
        DATABASE_OWNER_URL: db.ownerUrl,
        ATTACHMENT_DIR: attachmentDir,
      },
    });
    try {
      const caseId = (await s.as('admin', '/api/v1/cases/', { method: 'POST', body: phiCase() }))
        .body.id as number;
      const held = await s.as('admin', `/api/v1/cases/${caseId}/status`, {
        method: 'PATCH',
        body: { status: 'on_hold', reason: `Waiting for ${MARK} shade` },
      });
      expect(held.status).toBe(200);
      const notes = `/api/v1/cases/${caseId}/notes`;
      const kept = (await s.as('admin', notes, { method: 'POST', body: { text: `First ${MARK}` } }))
        .body.id as number;
      expect(
        (
          await s.as('admin', `${notes}/${kept}`, {
            method: 'PUT',
            body: { text: `Second ${MARK}` },
          })
        ).status,
      ).toBe(200);
      const gone = (await s.as('admin', notes, { method: 'POST', body: { text: 'To delete' } }))
        .body.id as number;
      expect(
        (
          await s.as('admin', `${notes}/${gone}`, {
            method: 'DELETE',
            body: { reason: `Wrong patient ${MARK}` },
          })
        ).status,
      ).toBe(204);
      const up = await upload(s, 'admin', caseId, {
        file: { name: `${MARK} upper.stl`, data: binaryStl(10) },
        kind: 'scan',
      });
      expect(up.status).toBe(201);
      const wrong = await upload(s, 'admin', caseId, {
        file: { name: 'wrong.stl', data: binaryStl(5) },
        kind: 'scan',
      });
      expect(
        (
          await s.as('admin', `/api/v1/cases/${caseId}/attachments/${wrong.json.id}`, {
            method: 'DELETE',
            body: { reason: `Another patient's scan ${MARK}` },
          })
        ).status,
      ).toBe(204);
      const grant = await s.as('sysadmin', '/api/v1/emergency-access', {
        method: 'POST',
        body: { lab_id: String(s.labs.lab1), reason: `Lab cannot open ${MARK}'s case` },
      });
      expect(grant.status).toBe(201);

      // A webhook subscription's secret, and after a rotation the previous one too.
      const hook = await s.as('admin', '/api/v1/webhooks', {
        method: 'POST',
        body: { url: 'http://127.0.0.1:9/hook', events: ['case.created'] },
      });
      expect(hook.status).toBe(201);
      expect(
        (
          await s.as('admin', `/api/v1/webhooks/${hook.body.id}/rotate-secret`, {
            method: 'POST',
            body: {},
          })
        ).status,
      ).toBe(200);

      // Every column of the list holds a value now, all under the lab's first data key.
      const before = await storedTexts();
      const columns = new Set(before.map((t) => t.column));
      for (const col of ENCRYPTED_TEXT_COLUMNS) {
        expect(columns).toContain(`${col.table}.${col.column}`);
      }
      for (const t of before) expect(t.value).toMatch(/^enc:v1:1:/);

      const r = await rotateKeys(
        testEnv({ DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
        {
          newDataKeys: true,
          reencrypt: true,
        },
      );
      expect(r.reencryptedTexts).toBe(before.length);
      const after = await storedTexts();
      expect(after).toHaveLength(before.length);
      for (const t of after) expect(t.value).toMatch(/^enc:v1:2:/);
      expect(JSON.stringify(after)).not.toContain(MARK);
      const grants = await s.as('sysadmin', '/api/v1/emergency-access');
      expect(JSON.stringify(grants.body)).toContain(`Lab cannot open ${MARK}'s case`);

      // The API reads every one of them back under the new key.
      const timeline = await s.as('admin', `/api/v1/cases/${caseId}/events`);
      expect(JSON.stringify(timeline.body)).toContain(`Waiting for ${MARK} shade`);
      const list = await s.as('admin', notes);
      expect(list.body.notes.map((n: { text: string }) => n.text)).toEqual([`Second ${MARK}`]);
      const history = await s.as('admin', `${notes}/${kept}/revisions`);
      expect(history.body.revisions.map((x: { text: string }) => x.text)).toContain(
        `First ${MARK}`,
      );
      const deleted = await s.as('admin', `${notes}/${gone}/revisions`);
      expect(deleted.body.deleted).toMatchObject({ reason: `Wrong patient ${MARK}` });
      const files = await s.as('admin', `/api/v1/cases/${caseId}/attachments`);
      expect(JSON.stringify(files.body)).toContain(`${MARK} upper.stl`);

      // The list is complete: no other column of the database holds ciphertext (the cases
      // table's PHI columns are re-encrypted by reencryptCases).
      const scan = new Client({ connectionString: db.ownerUrl });
      await scan.connect();
      try {
        const textColumns = (
          await scan.query<{ t: string; c: string }>(
            `SELECT table_name AS t, column_name AS c FROM information_schema.columns
              WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')`,
          )
        ).rows;
        const holding: string[] = [];
        for (const { t, c } of textColumns) {
          const hit = await scan.query(`SELECT 1 FROM "${t}" WHERE "${c}" LIKE 'enc:v1:%' LIMIT 1`);
          if (hit.rows.length > 0 && t !== 'cases') holding.push(`${t}.${c}`);
        }
        expect(holding.sort()).toEqual(
          ENCRYPTED_TEXT_COLUMNS.map((col) => `${col.table}.${col.column}`).sort(),
        );
      } finally {
        await scan.end();
      }

      // Nothing else gets through the append-only triggers: not without the session flag, not
      // another column with it, and never for the application role.
      const owner = new Client({ connectionString: db.ownerUrl });
      await owner.connect();
      try {
        await expect(owner.query(`UPDATE case_events SET reason = reason`)).rejects.toThrow(
          /append-only/,
        );
        await owner.query(`SELECT set_config('lhcms.reencrypt', 'on', false)`);
        await expect(
          owner.query(`UPDATE case_events SET to_status = 'cancelled' WHERE reason IS NOT NULL`),
        ).rejects.toThrow(/append-only/);
        await expect(
          owner.query(`UPDATE case_note_revisions SET author_id = 'someone-else'`),
        ).rejects.toThrow(/append-only/);
      } finally {
        await owner.end();
      }
      const app = new Client({ connectionString: db.appUrl });
      await app.connect();
      try {
        await app.query(`SELECT set_config('lhcms.reencrypt', 'on', false)`);
        await expect(app.query(`UPDATE case_note_revisions SET body = body`)).rejects.toThrow();
      } finally {
        await app.end();
      }
    } finally {
      await s.close();
    }
  });
});

/** LOCAL_KMS_BIN (`npm test` builds it), the tool cache or ~/go/bin; missing: fails, saying what to install. */
const localKmsBinary = (): string => requireTool(localKms());

describe('PHI field encryption with AWS KMS (local KMS-compatible server)', () => {
  let kms: ChildProcess | undefined;
  let endpoint: string;
  let s: Stack;
  let keyArn: string;
  const saved = { ...process.env };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-local-kms-'));

  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    kms = spawn(localKmsBinary(), [], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        KMS_DATA_PATH: dataDir,
        KMS_REGION: 'eu-west-1',
      },
      stdio: 'ignore',
    });
    // The AWS SDK's default credential chain reads these.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
    const client = new KMSClient({ region: 'eu-west-1', endpoint });
    keyArn = await eventually(
      async () => {
        try {
          return (await client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
        } catch {
          return undefined;
        }
      },
      10_000,
      'local-kms to answer',
    );
    client.destroy();
    s = await startStack({
      env: {
        ENCRYPTION_PROVIDER: 'aws-kms',
        ENCRYPTION_KEY_ID: keyArn,
        KMS_ENDPOINT: endpoint,
        AWS_REGION: 'eu-west-1',
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    kms?.kill();
    process.env = saved;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('wraps the lab data key with the KMS key and round-trips PHI', async () => {
    const created = await s.as('admin', '/api/v1/cases/', {
      method: 'POST',
      body: phiCase('MRN-KMS'),
    });
    expect(created.status).toBe(201);
    const c = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await c.connect();
    try {
      const key = await c.query(
        `SELECT kek_provider, kek_id FROM lab_data_keys WHERE lab_id = $1`,
        [String(s.labs.lab1)],
      );
      expect(key.rows).toEqual([{ kek_provider: 'aws-kms', kek_id: keyArn }]);
    } finally {
      await c.end();
    }
    expect(
      String((await rawRow(testDatabaseUrls().ownerUrl, created.body.id)).patient_info),
    ).toMatch(/^enc:v1:1:/);
    const read = await s.as('viewer', `/api/v1/cases/${created.body.id}`);
    expect(read.body.patient_info.patient_id).toBe('MRN-KMS');
  });
});
