import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sorted work queues of the case list (issue 16: sort=due_date /
 * ship_by, ascending or descending, keyset cursors): (lab_id, column, id) on
 * a lab's live cases, so a queue page is an index range read forwards or
 * backwards — in the sort's order, the id breaking ties — instead of a sort
 * of the whole lab. They replace the (lab_id, due_date) and (lab_id,
 * ship_by) indexes, which they serve as well (the date filters and the
 * at-risk window are ranges of their first two columns).
 */
export class QueueSortIndexes1765610000000 implements MigrationInterface {
  name = 'QueueSortIndexes1765610000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX ix_cases_lab_due_date_id ON cases (lab_id, due_date, id) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX ix_cases_lab_ship_by_id ON cases (lab_id, ship_by, id) WHERE deleted_at IS NULL`,
    );
    await q.query(`DROP INDEX ix_cases_lab_due_date`);
    await q.query(`DROP INDEX ix_cases_lab_ship_by`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX ix_cases_lab_ship_by ON cases (lab_id, ship_by) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX ix_cases_lab_due_date ON cases (lab_id, due_date) WHERE deleted_at IS NULL`,
    );
    await q.query(`DROP INDEX ix_cases_lab_ship_by_id`);
    await q.query(`DROP INDEX ix_cases_lab_due_date_id`);
  }
}
