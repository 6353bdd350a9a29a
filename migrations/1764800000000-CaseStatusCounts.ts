import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * Live cases per lab and status, kept by a trigger in the writing
 * transaction, so the `total` of an unfiltered (or status-only) list is one
 * primary-key read instead of counting a lab's cases on every board refresh
 * (issue #9: count(*) over 100 000 cases dominated the list's latency).
 *
 * Exact, not an estimate: every INSERT, status or deleted_at change, lab move
 * and DELETE of `cases` adjusts the counters in the same transaction, and
 * nothing else can (the application role may only read them; the trigger runs
 * as the owner). A status change adjusts its two counters in name order, so
 * two opposite moves in one lab cannot deadlock.
 */
export class CaseStatusCounts1764800000000 implements MigrationInterface {
  name = 'CaseStatusCounts1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lab_case_status_counts (
        lab_id varchar(50) NOT NULL,
        status varchar(20) NOT NULL,
        live   integer     NOT NULL,
        CONSTRAINT pk_lab_case_status_counts PRIMARY KEY (lab_id, status),
        CONSTRAINT ck_lab_case_status_counts_live CHECK (live >= 0)
      )`);
    await q.query(`
      CREATE FUNCTION lhcms_case_status_count_add(p_lab varchar, p_status varchar, p_delta integer)
      RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      BEGIN
        -- A decrement always has its row (the case was counted); the CHECK would refuse a
        -- proposed negative row even when ON CONFLICT would turn it into an update.
        IF p_delta < 0 THEN
          UPDATE lab_case_status_counts SET live = live + p_delta WHERE lab_id = p_lab AND status = p_status;
        ELSE
          INSERT INTO lab_case_status_counts (lab_id, status, live) VALUES (p_lab, p_status, p_delta)
          ON CONFLICT (lab_id, status) DO UPDATE SET live = lab_case_status_counts.live + EXCLUDED.live;
        END IF;
      END $$`);
    await q.query(`
      CREATE FUNCTION lhcms_cases_count() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      DECLARE
        was boolean := TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL;
        now_live boolean := TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL;
      BEGIN
        IF TG_OP = 'UPDATE' AND was = now_live AND OLD.status = NEW.status AND OLD.lab_id = NEW.lab_id THEN
          RETURN NULL;
        END IF;
        IF was AND now_live AND OLD.lab_id = NEW.lab_id AND NEW.status < OLD.status THEN
          PERFORM lhcms_case_status_count_add(NEW.lab_id, NEW.status, 1);
          PERFORM lhcms_case_status_count_add(OLD.lab_id, OLD.status, -1);
          RETURN NULL;
        END IF;
        IF was THEN
          PERFORM lhcms_case_status_count_add(OLD.lab_id, OLD.status, -1);
        END IF;
        IF now_live THEN
          PERFORM lhcms_case_status_count_add(NEW.lab_id, NEW.status, 1);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tr_cases_count
      AFTER INSERT OR DELETE OR UPDATE OF status, deleted_at, lab_id ON cases
      FOR EACH ROW EXECUTE FUNCTION lhcms_cases_count()`);
    await q.query(
      `REVOKE ALL ON FUNCTION lhcms_case_status_count_add(varchar, varchar, integer) FROM PUBLIC`,
    );
    // Existing rows (the table lock keeps writers out until the counters are complete).
    await q.query(`LOCK TABLE cases IN SHARE MODE`);
    await q.query(`
      INSERT INTO lab_case_status_counts (lab_id, status, live)
      SELECT lab_id, status, count(*) FROM cases WHERE deleted_at IS NULL GROUP BY lab_id, status`);
    await enableTenantRls(q, 'lab_case_status_counts');
    await grantToApp(q, 'SELECT', 'TABLE lab_case_status_counts');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER tr_cases_count ON cases`);
    await q.query(`DROP FUNCTION lhcms_cases_count()`);
    await q.query(`DROP FUNCTION lhcms_case_status_count_add(varchar, varchar, integer)`);
    await disableTenantRls(q, 'lab_case_status_counts');
    await q.query(`DROP TABLE lab_case_status_counts`);
  }
}
