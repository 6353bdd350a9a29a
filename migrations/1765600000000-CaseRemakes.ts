import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addCaseEventTypes, removeCaseEventTypes } from '../libs/database/src/migration-helpers';

const REMAKE_EVENT_TYPES = ['remake_created'];

/**
 * Remakes (issue 16): a remake is a new case linked to the case it redoes.
 * `remake_of` references a case of the same lab — the foreign key is on
 * (lab_id, remake_of), so a link across labs cannot be stored whatever the
 * code does; the unique (lab_id, id) it needs is the primary key with the
 * tenant key in front. When the retention purge removes an original, its
 * remakes keep their reason and lose only the link (SET NULL of remake_of
 * alone: lab_id stays). The reason code is one of the lab's catalogue
 * (lab_schedules.remake_reasons, NULL: the defaults; checked by the API, not
 * here, because a lab may retire a code that old remakes still carry).
 *
 * The timeline: the original gets `remake_created`; both events carry the
 * other case's id in `case_events.related_case_id` (no foreign key: the purge
 * removes either case on its own schedule, and the timeline is append-only).
 */
export class CaseRemakes1765600000000 implements MigrationInterface {
  name = 'CaseRemakes1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE cases
        ADD COLUMN remake_of integer,
        ADD COLUMN remake_reason varchar(50),
        ADD COLUMN remake_responsibility varchar(10),
        ADD COLUMN remake_chargeable boolean,
        ADD CONSTRAINT uq_cases_lab_id_id UNIQUE (lab_id, id),
        ADD CONSTRAINT fk_cases_remake_of FOREIGN KEY (lab_id, remake_of)
          REFERENCES cases (lab_id, id) ON DELETE SET NULL (remake_of),
        ADD CONSTRAINT ck_cases_remake_responsibility
          CHECK (remake_responsibility IN ('lab', 'doctor', 'unknown')),
        ADD CONSTRAINT ck_cases_remake_fields CHECK (
          (remake_reason IS NULL) = (remake_responsibility IS NULL)
          AND (remake_reason IS NULL) = (remake_chargeable IS NULL)
          AND (remake_of IS NULL OR remake_reason IS NOT NULL))`);
    await q.query(
      `CREATE INDEX ix_cases_lab_remake_of ON cases (lab_id, remake_of) WHERE remake_of IS NOT NULL`,
    );
    await q.query(`ALTER TABLE lab_schedules ADD COLUMN remake_reasons jsonb,
      ADD CONSTRAINT ck_lab_schedules_remake_reasons
        CHECK (remake_reasons IS NULL OR jsonb_typeof(remake_reasons) = 'array')`);
    await q.query(`ALTER TABLE case_events ADD COLUMN related_case_id integer`);
    await addCaseEventTypes(q, REMAKE_EVENT_TYPES);
  }

  async down(q: QueryRunner): Promise<void> {
    await removeCaseEventTypes(q, REMAKE_EVENT_TYPES);
    await q.query(`ALTER TABLE case_events DROP COLUMN related_case_id`);
    await q.query(`ALTER TABLE lab_schedules DROP CONSTRAINT ck_lab_schedules_remake_reasons,
      DROP COLUMN remake_reasons`);
    await q.query(`DROP INDEX ix_cases_lab_remake_of`);
    await q.query(`
      ALTER TABLE cases
        DROP CONSTRAINT ck_cases_remake_fields,
        DROP CONSTRAINT ck_cases_remake_responsibility,
        DROP CONSTRAINT fk_cases_remake_of,
        DROP CONSTRAINT uq_cases_lab_id_id,
        DROP COLUMN remake_chargeable,
        DROP COLUMN remake_responsibility,
        DROP COLUMN remake_reason,
        DROP COLUMN remake_of`);
  }
}
