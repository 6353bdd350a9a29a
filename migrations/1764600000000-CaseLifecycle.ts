import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * The case lifecycle: case numbers (a per-lab, per-month counter), the
 * production stage, the held-from status of an on-hold case, an optimistic
 * concurrency version, the append-only `case_events` timeline, per-lab
 * settings (the stage list), and idempotency keys for create.
 *
 * The status transition table is enforced here too (a trigger), so a write
 * path that bypasses the service cannot break it; the service gives the
 * client a 409 with the allowed next states before the database would refuse.
 */
export class CaseLifecycle1764600000000 implements MigrationInterface {
  name = 'CaseLifecycle1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cases
      ADD COLUMN case_number varchar(40),
      ADD COLUMN stage varchar(50),
      ADD COLUMN held_from_status varchar(20),
      ADD COLUMN version integer NOT NULL DEFAULT 1,
      ADD CONSTRAINT ck_cases_held_from_status CHECK (held_from_status IN ('pending', 'in_progress'))`);
    await q.query(
      `CREATE UNIQUE INDEX ux_cases_lab_case_number ON cases (lab_id, case_number) WHERE case_number IS NOT NULL`,
    );

    // Status transitions and the version, whatever writes the row.
    await q.query(`
      CREATE FUNCTION lhcms_cases_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
          -- coalesce: an unset reopen flag or held-from status is NULL, and NOT NULL would let the move through.
          IF NOT coalesce(
               (OLD.status = 'pending'     AND NEW.status IN ('in_progress', 'on_hold', 'cancelled'))
            OR (OLD.status = 'in_progress' AND NEW.status IN ('on_hold', 'completed', 'cancelled'))
            OR (OLD.status = 'on_hold'     AND (NEW.status = coalesce(OLD.held_from_status, '') OR NEW.status = 'cancelled'))
            OR (OLD.status = 'completed'   AND NEW.status = 'in_progress'
                AND coalesce(current_setting('lhcms.case_reopen', true), '') = 'on'),
            false
          ) THEN
            RAISE EXCEPTION 'illegal case status transition % -> %', OLD.status, NEW.status
              USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_cases_status_transition';
          END IF;
          IF NEW.status = 'on_hold' THEN
            NEW.held_from_status := OLD.status;
          ELSE
            NEW.held_from_status := NULL;
          END IF;
        END IF;
        NEW.version := OLD.version + 1;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER tr_cases_before_update BEFORE UPDATE ON cases
      FOR EACH ROW EXECUTE FUNCTION lhcms_cases_before_update()`);

    await q.query(`
      CREATE TABLE case_events (
        id             bigint GENERATED ALWAYS AS IDENTITY,
        lab_id         varchar(50)  NOT NULL,
        case_id        integer      NOT NULL,
        event_type     varchar(30)  NOT NULL,
        actor_user_id  varchar(50),
        occurred_at    timestamptz  NOT NULL DEFAULT now(),
        from_status    varchar(20),
        to_status      varchar(20),
        from_stage     varchar(50),
        to_stage       varchar(50),
        changed_fields jsonb        NOT NULL DEFAULT '[]'::jsonb,
        reason         text,
        request_id     varchar(128),
        CONSTRAINT pk_case_events PRIMARY KEY (id),
        CONSTRAINT fk_case_events_case FOREIGN KEY (case_id) REFERENCES cases (id),
        CONSTRAINT ck_case_events_type CHECK (event_type IN
          ('created', 'updated', 'status_changed', 'stage_changed', 'reopened', 'deleted'))
      )`);
    await q.query(`CREATE INDEX ix_case_events_lab_case ON case_events (lab_id, case_id, id)`);
    // Append-only: no UPDATE for anyone; DELETE only by the owner (the retention job).
    await q.query(`
      CREATE FUNCTION lhcms_case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_user = (SELECT tableowner FROM pg_tables
                                                WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER tr_case_events_append_only BEFORE UPDATE OR DELETE ON case_events
      FOR EACH ROW EXECUTE FUNCTION lhcms_case_events_append_only()`);
    await enableTenantRls(q, 'case_events');
    await grantToApp(q, 'SELECT, INSERT', 'TABLE case_events');

    await q.query(`
      CREATE TABLE lab_settings (
        lab_id     varchar(50) NOT NULL,
        stages     jsonb       NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by varchar(50),
        CONSTRAINT pk_lab_settings PRIMARY KEY (lab_id),
        CONSTRAINT ck_lab_settings_stages CHECK (jsonb_typeof(stages) = 'array' AND jsonb_array_length(stages) > 0)
      )`);
    await enableTenantRls(q, 'lab_settings');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE lab_settings');

    await q.query(`
      CREATE TABLE lab_case_counters (
        lab_id   varchar(50) NOT NULL,
        period   char(4)     NOT NULL,
        last_seq integer     NOT NULL,
        CONSTRAINT pk_lab_case_counters PRIMARY KEY (lab_id, period)
      )`);
    await enableTenantRls(q, 'lab_case_counters');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE lab_case_counters');

    await q.query(`
      CREATE TABLE idempotency_keys (
        lab_id       varchar(50)  NOT NULL,
        user_id      varchar(50)  NOT NULL,
        key          varchar(255) NOT NULL,
        request_hash char(64)     NOT NULL,
        case_id      integer      NOT NULL,
        created_at   timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_idempotency_keys PRIMARY KEY (lab_id, user_id, key)
      )`);
    await q.query(`CREATE INDEX ix_idempotency_keys_created ON idempotency_keys (created_at)`);
    await enableTenantRls(q, 'idempotency_keys');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE idempotency_keys');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['idempotency_keys', 'lab_case_counters', 'lab_settings', 'case_events']) {
      await disableTenantRls(q, t);
      await q.query(`DROP TABLE ${t}`);
    }
    await q.query(`DROP FUNCTION lhcms_case_events_append_only()`);
    await q.query(`DROP TRIGGER tr_cases_before_update ON cases`);
    await q.query(`DROP FUNCTION lhcms_cases_before_update()`);
    await q.query(`DROP INDEX ux_cases_lab_case_number`);
    await q.query(`ALTER TABLE cases DROP CONSTRAINT ck_cases_held_from_status,
      DROP COLUMN case_number, DROP COLUMN stage, DROP COLUMN held_from_status, DROP COLUMN version`);
  }
}
