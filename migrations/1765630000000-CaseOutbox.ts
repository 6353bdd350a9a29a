import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * The transactional outbox of case events (issue 17, docs/events.md,
 * ADR "case outbox"). Every row the case timeline (`case_events`) gets
 * becomes zero, one or two outbox events through a trigger, in the same
 * statement and therefore the same transaction: a committed change has its
 * event, a rolled-back one has none, and no write path (cases, notes,
 * attachments, a future module) can forget it.
 *
 * - `case_outbox`: the events. `id` is a UUID v7 (time-sortable, the public
 *   event id and the de-duplication key of every sink); `position` is the
 *   dispatch order (an identity taken while the case's sequence row is
 *   locked, so a case's events are always in `seq` order by position);
 *   `seq` numbers a case's events 1, 2, 3… without gaps (a rolled-back
 *   change rolls its number back too). `payload` holds non-PHI fields only:
 *   the snapshot columns are the catalogue's plain, sent columns
 *   (apps/api/src/events/event-payload.ts; test/events/outbox.int-spec.ts
 *   fails when this function and the catalogue disagree). `dispatched_at`:
 *   handed to the sinks; only dispatched rows are pruned.
 * - `case_outbox_seq`: the last `seq` of each case. Its row is the per-case
 *   lock of event numbering (an upsert), independent of the case row's own
 *   locks, so notes and attachments, which do not lock the case, number
 *   their events safely too. It goes with the case when the retention purge
 *   deletes it; the events stay until pruned.
 *
 * Both are tenant tables under forced row-level security. The application
 * role inserts events (the trigger runs as the writer) and reads them; it
 * never updates or deletes them: a dispatcher works across labs through
 * owner-defined functions (ADR), the prune runs as the owner.
 */
/** The transaction-scoped advisory lock of the one active outbox dispatcher ("lhcmsobx"). */
const DISPATCH_LOCK = '7811602875413389944';

export class CaseOutbox1765630000000 implements MigrationInterface {
  name = 'CaseOutbox1765630000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE case_outbox (
        id            uuid         NOT NULL,
        position      bigint       GENERATED ALWAYS AS IDENTITY,
        lab_id        varchar(50)  NOT NULL,
        case_id       integer      NOT NULL,
        case_number   varchar(40),
        seq           bigint       NOT NULL,
        type          varchar(40)  NOT NULL,
        occurred_at   timestamptz  NOT NULL,
        payload       jsonb        NOT NULL,
        dispatched_at timestamptz,
        CONSTRAINT pk_case_outbox PRIMARY KEY (id),
        CONSTRAINT uq_case_outbox_case_seq UNIQUE (case_id, seq),
        CONSTRAINT ck_case_outbox_seq CHECK (seq >= 1),
        CONSTRAINT ck_case_outbox_type CHECK (type IN (
          'case.created', 'case.updated', 'case.status_changed', 'case.stage_changed',
          'case.due_date_changed', 'case.deleted', 'case.note_added', 'case.attachment_added'))
      )`);
    // The dispatcher's queue: undelivered rows in dispatch order (small: rows leave it when sent).
    await q.query(
      `CREATE INDEX ix_case_outbox_undispatched ON case_outbox (position) WHERE dispatched_at IS NULL`,
    );
    // The retention prune: delivered rows by age.
    await q.query(
      `CREATE INDEX ix_case_outbox_dispatched ON case_outbox (dispatched_at) WHERE dispatched_at IS NOT NULL`,
    );
    await enableTenantRls(q, 'case_outbox');
    await grantToApp(q, 'SELECT, INSERT', 'TABLE case_outbox');

    await q.query(`
      CREATE TABLE case_outbox_seq (
        case_id  integer     NOT NULL,
        lab_id   varchar(50) NOT NULL,
        last_seq bigint      NOT NULL,
        CONSTRAINT pk_case_outbox_seq PRIMARY KEY (case_id),
        CONSTRAINT fk_case_outbox_seq_case FOREIGN KEY (case_id) REFERENCES cases (id) ON DELETE CASCADE
      )`);
    await enableTenantRls(q, 'case_outbox_seq');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE case_outbox_seq');

    // A UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, with
    // the version and variant of v7 (PostgreSQL 15 has no uuidv7()).
    await q.query(`
      CREATE FUNCTION lhcms_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
        SELECT encode(
          set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
          'hex')::uuid
      $$`);

    // Timeline row → outbox events. The snapshot lists exactly the columns of
    // SNAPSHOT_COLUMNS (events/event-payload.ts): plain, sent, not the envelope.
    await q.query(`
      CREATE FUNCTION lhcms_case_outbox_from_timeline() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        types    text[]  := '{}';
        payloads jsonb[] := '{}';
        due      jsonb;
        ship     jsonb;
        others   jsonb;
        snapshot jsonb;
        cnum     varchar(40);
        n        integer;
        last     bigint;
        allowed  text[] := ARRAY['doctor_id', 'product_id', 'status', 'priority', 'assigned_to', 'case_type',
                                 'due_date', 'rush_order', 'created_at', 'updated_at', 'stage',
                                 'held_from_status', 'version', 'ship_by', 'due_date_feasible'];
      BEGIN
        CASE NEW.event_type
          WHEN 'created' THEN
            types := ARRAY['case.created']; payloads := ARRAY['{}'::jsonb];
          WHEN 'status_changed', 'reopened' THEN
            types := ARRAY['case.status_changed'];
            payloads := ARRAY[jsonb_build_object(
              'from_status', NEW.from_status, 'to_status', NEW.to_status,
              'from_stage', NEW.from_stage, 'to_stage', NEW.to_stage,
              'reopened', NEW.event_type = 'reopened')];
          WHEN 'stage_changed' THEN
            types := ARRAY['case.stage_changed'];
            payloads := ARRAY[jsonb_build_object('from_stage', NEW.from_stage, 'to_stage', NEW.to_stage)];
          WHEN 'deleted' THEN
            types := ARRAY['case.deleted']; payloads := ARRAY['{}'::jsonb];
          WHEN 'updated' THEN
            SELECT f INTO due FROM jsonb_array_elements(NEW.changed_fields) f WHERE f->>'field' = 'due_date' LIMIT 1;
            SELECT f INTO ship FROM jsonb_array_elements(NEW.changed_fields) f WHERE f->>'field' = 'ship_by' LIMIT 1;
            -- A reschedule moves ship_by with it: both belong to the due date's event.
            SELECT coalesce(jsonb_agg(f), '[]'::jsonb) INTO others
              FROM jsonb_array_elements(NEW.changed_fields) f
             WHERE f->>'field' <> 'due_date' AND (due IS NULL OR f->>'field' <> 'ship_by');
            IF due IS NOT NULL THEN
              types := types || 'case.due_date_changed'::text;
              payloads := payloads || jsonb_build_object(
                'from_due_date', due->'from', 'to_due_date', due->'to',
                'from_ship_by', ship->'from', 'to_ship_by', ship->'to');
            END IF;
            IF jsonb_array_length(others) > 0 THEN
              types := types || 'case.updated'::text;
              -- Every changed field by name (names are not PHI); values only of snapshot columns.
              payloads := payloads || jsonb_build_object(
                'changed_fields', (SELECT jsonb_agg(f->>'field') FROM jsonb_array_elements(others) f),
                'changes', (SELECT coalesce(jsonb_object_agg(f->>'field',
                                              jsonb_build_object('from', f->'from', 'to', f->'to')), '{}'::jsonb)
                              FROM jsonb_array_elements(others) f
                             WHERE f ? 'to' AND f->>'field' = ANY (allowed)));
            END IF;
          WHEN 'note_created' THEN
            types := ARRAY['case.note_added'];
            payloads := ARRAY[jsonb_build_object('note_id', NEW.note_id)];
          WHEN 'attachment_added' THEN
            types := ARRAY['case.attachment_added'];
            payloads := ARRAY[jsonb_build_object(
              'attachment_id', (SELECT f->'to' FROM jsonb_array_elements(NEW.changed_fields) f
                                 WHERE f->>'field' = 'attachment_id' LIMIT 1),
              'attachment_kind', (SELECT f->'to' FROM jsonb_array_elements(NEW.changed_fields) f
                                   WHERE f->>'field' = 'attachment_kind' LIMIT 1))];
          ELSE
            -- Not an outbox event (yet): note edits and deletions, attachment deletions.
            RETURN NULL;
        END CASE;
        n := coalesce(array_length(types, 1), 0);
        IF n = 0 THEN
          RETURN NULL;
        END IF;

        SELECT jsonb_build_object(
                 'doctor_id', c.doctor_id, 'product_id', c.product_id, 'status', c.status,
                 'priority', c.priority, 'assigned_to', c.assigned_to, 'case_type', c.case_type,
                 'due_date', to_char(c.due_date, 'YYYY-MM-DD'), 'rush_order', c.rush_order,
                 'created_at', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 'updated_at', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 'stage', c.stage, 'held_from_status', c.held_from_status, 'version', c.version,
                 'ship_by', to_char(c.ship_by, 'YYYY-MM-DD'), 'due_date_feasible', c.due_date_feasible),
               c.case_number
          INTO snapshot, cnum
          FROM cases c WHERE c.id = NEW.case_id;

        -- The case's numbering lock, held to the end of the transaction: a
        -- concurrent change of the same case waits here and numbers after it.
        INSERT INTO case_outbox_seq AS s (case_id, lab_id, last_seq) VALUES (NEW.case_id, NEW.lab_id, n)
          ON CONFLICT (case_id) DO UPDATE SET last_seq = s.last_seq + n
          RETURNING s.last_seq INTO last;
        FOR i IN 1..n LOOP
          INSERT INTO case_outbox (id, lab_id, case_id, case_number, seq, type, occurred_at, payload)
          VALUES (lhcms_uuid_v7(), NEW.lab_id, NEW.case_id, cnum, last - n + i, types[i], NEW.occurred_at,
                  jsonb_build_object('case', snapshot, 'actor_user_id', NEW.actor_user_id) || payloads[i]);
        END LOOP;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER tr_case_events_outbox AFTER INSERT ON case_events
        FOR EACH ROW EXECUTE FUNCTION lhcms_case_outbox_from_timeline()`);

    // Outbox lag for the metrics endpoint: an aggregate across labs (no row, no
    // tenant data), which the application role cannot compute under RLS.
    await q.query(`
      CREATE FUNCTION lhcms_outbox_backlog(OUT undispatched bigint, OUT oldest_age_seconds double precision)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::double precision
          FROM case_outbox WHERE dispatched_at IS NULL
      $$`);
    await q.query(`REVOKE ALL ON FUNCTION lhcms_outbox_backlog() FROM PUBLIC`);
    await grantToApp(q, 'EXECUTE', 'FUNCTION lhcms_outbox_backlog()');

    // The dispatcher (docs/events.md): works across labs, which the application role's
    // RLS forbids, through these two owner-defined functions only. Leasing takes the
    // oldest undispatched events FOR UPDATE SKIP LOCKED in the caller's transaction (the
    // row locks are the lease: a dispatcher that dies releases them with its connection),
    // and only in the one transaction that holds the dispatch lock, so that a case's
    // events leave in order even with several replicas. Events are non-PHI by construction.
    await q.query(`
      CREATE FUNCTION lhcms_outbox_lease(batch integer)
      RETURNS TABLE (id uuid, lab_id varchar, case_id integer, case_number varchar, seq bigint,
                     type varchar, occurred_at text, payload jsonb)
      LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      BEGIN
        IF NOT pg_try_advisory_xact_lock(${DISPATCH_LOCK}) THEN
          RETURN;
        END IF;
        RETURN QUERY
          SELECT o.id, o.lab_id, o.case_id, o.case_number, o.seq, o.type,
                 to_char(o.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), o.payload
            FROM case_outbox o
           WHERE o.dispatched_at IS NULL
           ORDER BY o.position
           LIMIT least(greatest(batch, 1), 1000)
             FOR UPDATE SKIP LOCKED;
      END
      $$`);
    await q.query(`
      CREATE FUNCTION lhcms_outbox_mark_dispatched(ids uuid[]) RETURNS integer
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        WITH d AS (UPDATE case_outbox SET dispatched_at = now()
                    WHERE id = ANY (ids) AND dispatched_at IS NULL RETURNING 1)
        SELECT count(*)::integer FROM d
      $$`);
    for (const f of ['lhcms_outbox_lease(integer)', 'lhcms_outbox_mark_dispatched(uuid[])']) {
      await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
      await grantToApp(q, 'EXECUTE', `FUNCTION ${f}`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS lhcms_outbox_mark_dispatched(uuid[])`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_outbox_lease(integer)`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_outbox_backlog()`);
    await q.query(`DROP TRIGGER IF EXISTS tr_case_events_outbox ON case_events`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_case_outbox_from_timeline()`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_uuid_v7()`);
    await disableTenantRls(q, 'case_outbox_seq');
    await q.query(`DROP TABLE IF EXISTS case_outbox_seq`);
    await disableTenantRls(q, 'case_outbox');
    await q.query(`DROP TABLE IF EXISTS case_outbox`);
  }
}
