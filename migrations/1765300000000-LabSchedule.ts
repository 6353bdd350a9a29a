import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * The lab's schedule (issue 16): its calendar (time zone, working days,
 * closures, public holidays, cut-off) and its turnaround table, one row per
 * lab that changed the defaults (NULL document: the defaults). Cases get the
 * date they must ship by and whether a client-sent due date was feasible.
 */
export class LabSchedule1765300000000 implements MigrationInterface {
  name = 'LabSchedule1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lab_schedules (
        lab_id     varchar(50) NOT NULL,
        calendar   jsonb,
        turnaround jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by varchar(50),
        CONSTRAINT pk_lab_schedules PRIMARY KEY (lab_id),
        CONSTRAINT ck_lab_schedules_calendar CHECK (calendar IS NULL OR jsonb_typeof(calendar) = 'object'),
        CONSTRAINT ck_lab_schedules_turnaround CHECK (turnaround IS NULL OR jsonb_typeof(turnaround) = 'object')
      )`);
    await enableTenantRls(q, 'lab_schedules');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE lab_schedules');
    await q.query(
      `ALTER TABLE cases ADD COLUMN ship_by date, ADD COLUMN due_date_feasible boolean`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cases DROP COLUMN ship_by, DROP COLUMN due_date_feasible`);
    await disableTenantRls(q, 'lab_schedules');
    await q.query(`DROP TABLE lab_schedules`);
  }
}
