import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * The lab's report settings (issue 16, reports): whether viewers may read the
 * lab's reports. One row per lab that changed the default (no row: viewers
 * may).
 */
export class ReportSettings1765620000000 implements MigrationInterface {
  name = 'ReportSettings1765620000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lab_report_settings (
        lab_id        varchar(50) NOT NULL,
        viewer_access boolean     NOT NULL DEFAULT true,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        updated_by    varchar(50),
        CONSTRAINT pk_lab_report_settings PRIMARY KEY (lab_id)
      )`);
    await enableTenantRls(q, 'lab_report_settings');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE lab_report_settings');
  }

  async down(q: QueryRunner): Promise<void> {
    await disableTenantRls(q, 'lab_report_settings');
    await q.query(`DROP TABLE lab_report_settings`);
  }
}
