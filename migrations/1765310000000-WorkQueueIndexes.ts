import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The work-queue filters of the case list (issue 16: ship_by_to, late) on a
 * lab's live cases, so a queue stays an index range scan on a lab of 100 000
 * cases instead of a filter over all of them (due_from/due_to use
 * ix_cases_lab_due_date, which CreateCases made).
 */
export class WorkQueueIndexes1765310000000 implements MigrationInterface {
  name = 'WorkQueueIndexes1765310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX ix_cases_lab_ship_by ON cases (lab_id, ship_by) WHERE deleted_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_cases_lab_ship_by`);
  }
}
