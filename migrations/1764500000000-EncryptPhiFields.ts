import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

const PHI_JSON = [
  'patient_info',
  'fixed_prosthetic_details',
  'denture_details',
  'night_guard_details',
  'implant_details',
];

/**
 * PHI field encryption (envelope): per-lab data keys, wrapped by a key-
 * encryption key that never reaches the database, in `lab_data_keys`; the
 * PHI columns of `cases` become text holding `enc:v1:<version>:<ciphertext>`;
 * `patient_id_bidx` is the keyed blind index for exact-match search by
 * patient id. Existing plaintext values stay readable (they are not prefixed)
 * until `lhcms keys reencrypt` encrypts them.
 */
export class EncryptPhiFields1764500000000 implements MigrationInterface {
  name = 'EncryptPhiFields1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lab_data_keys (
        lab_id        varchar(50) NOT NULL,
        key_version   integer     NOT NULL,
        wrapped_key   bytea       NOT NULL,
        kek_provider  varchar(20) NOT NULL,
        kek_id        text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        rewrapped_at  timestamptz,
        CONSTRAINT pk_lab_data_keys PRIMARY KEY (lab_id, key_version),
        CONSTRAINT ck_lab_data_keys_version CHECK (key_version > 0)
      )`);
    await enableTenantRls(q, 'lab_data_keys');
    // The app creates a lab's first data key; only the owner (lhcms keys rotate) re-wraps.
    await grantToApp(q, 'SELECT, INSERT', 'TABLE lab_data_keys');

    for (const col of PHI_JSON) {
      await q.query(`ALTER TABLE cases ALTER COLUMN ${col} TYPE text USING ${col}::text`);
    }
    await q.query(`ALTER TABLE cases ALTER COLUMN case_name TYPE text`);
    await q.query(`ALTER TABLE cases ADD COLUMN patient_id_bidx varchar(64)`);
    await q.query(
      `CREATE INDEX ix_cases_lab_patient_bidx ON cases (lab_id, patient_id_bidx) WHERE deleted_at IS NULL AND patient_id_bidx IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ n }] = (await q.query(
      `SELECT count(*)::int AS n FROM cases WHERE ${[
        ...PHI_JSON,
        'case_name',
        'description',
        'special_instructions',
      ]
        .map((c) => `${c} LIKE 'enc:%'`)
        .join(' OR ')}`,
    )) as Array<{ n: number }>;
    if (n > 0) {
      throw new Error(`${n} cases hold encrypted values; reverting this migration would lose them`);
    }
    await q.query(`DROP INDEX ix_cases_lab_patient_bidx`);
    await q.query(`ALTER TABLE cases DROP COLUMN patient_id_bidx`);
    await q.query(`ALTER TABLE cases ALTER COLUMN case_name TYPE varchar(255)`);
    for (const col of PHI_JSON) {
      await q.query(`ALTER TABLE cases ALTER COLUMN ${col} TYPE jsonb USING ${col}::jsonb`);
    }
    await disableTenantRls(q, 'lab_data_keys');
    await q.query(`DROP TABLE lab_data_keys`);
  }
}
