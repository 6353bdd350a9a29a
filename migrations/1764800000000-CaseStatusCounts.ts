import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * Live cases per lab and status, kept by a trigger in the writing
 * transaction, so the `total` of an unfiltered (or status-only) list is a
 * short index read instead of counting a lab's cases on every board refresh
 * (issue #9: count(*) over 100 000 cases dominated the list's latency).
 *
 * Exact, not an estimate: every INSERT, status or deleted_at change, lab move
 * and DELETE of `cases` adjusts the counters in the same transaction, and
 * nothing else can (the application role may only read them; the trigger runs
 * as the owner). Each (lab, status) is split into 16 shards, chosen by the
 * writing backend, and the total is their sum: concurrent writers in one lab
 * rarely wait on the same counter row (one row per status halved status-change
 * throughput at 16 concurrent writers). A status change adjusts its two
 * counters in status-name order, so two opposite moves cannot deadlock.
 */
export class CaseStatusCounts1764800000000 implements MigrationInterface {
  name = 'CaseStatusCounts1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lab_case_status_counts (
        lab_id varchar(50) NOT NULL,
        status varchar(20) NOT NULL,
        shard  smallint    NOT NULL,
        live   integer     NOT NULL,
        CONSTRAINT pk_lab_case_status_counts PRIMARY KEY (lab_id, status, shard)
      )`);
    // One shard may go negative (a case counted in one shard, moved out through another); the sum cannot.
    await q.query(`
      CREATE FUNCTION lhcms_case_status_count_add(p_lab varchar, p_status varchar, p_delta integer)
      RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        INSERT INTO lab_case_status_counts (lab_id, status, shard, live)
        VALUES (p_lab, p_status, pg_backend_pid() % 16, p_delta)
        ON CONFLICT (lab_id, status, shard) DO UPDATE SET live = lab_case_status_counts.live + EXCLUDED.live
      $$`);
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
      INSERT INTO lab_case_status_counts (lab_id, status, shard, live)
      SELECT lab_id, status, 0, count(*) FROM cases WHERE deleted_at IS NULL GROUP BY lab_id, status`);
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
