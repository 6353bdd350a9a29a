import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appRole, grantToApp } from '../libs/database/src/migration-helpers';

/**
 * The HIPAA audit trail (docs/hipaa.md).
 *
 * - `audit_events`: one immutable row per event, never updated by anyone
 *   (a trigger raises), deleted only by the retention purge (owner role,
 *   `lhcms.audit_purge` set, rows older than the 6-year floor). The app role
 *   may INSERT and SELECT only; row-level security keeps SELECT lab-scoped
 *   while INSERT is open (one group-commit batch holds rows of many labs).
 * - `audit_chain`: the HMAC hash chain, one entry per sealed event, append-only
 *   the same way. A separate table so that sealing never needs UPDATE on
 *   `audit_events`: the app role only INSERTs chain entries.
 * - `audit_chain_meta`: the chain's id (names its checkpoint folder).
 * - SECURITY DEFINER functions give the sealer and the verify endpoint what
 *   they need across labs without letting the app role read other labs'
 *   rows: SHA-256 digests of the canonical rows, never their content.
 */
export class CreateAuditTrail1764700000000 implements MigrationInterface {
  name = 'CreateAuditTrail1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_events (
        seq             bigint GENERATED ALWAYS AS IDENTITY,
        occurred_at     timestamptz  NOT NULL,
        recorded_at     timestamptz  NOT NULL DEFAULT now(),
        tx_id           xid8         NOT NULL DEFAULT pg_current_xact_id(),
        lab_id          varchar(50),
        actor_user_id   varchar(100),
        actor_type      varchar(20)  NOT NULL,
        actor_role      varchar(20),
        source_ip       inet,
        user_agent      varchar(256),
        request_id      varchar(128),
        event_type      varchar(20)  NOT NULL,
        action          char(1)      NOT NULL,
        interaction     varchar(30)  NOT NULL,
        resource_type   varchar(30),
        resource_id     varchar(100),
        patient_ref     varchar(64),
        subject_count   integer,
        entity_ids      text[],
        patient_refs    text[],
        query           jsonb,
        changed_fields  jsonb,
        outcome         varchar(10)  NOT NULL,
        outcome_detail  varchar(64),
        http_status     smallint,
        http_method     varchar(10),
        route           varchar(200),
        CONSTRAINT pk_audit_events PRIMARY KEY (seq),
        CONSTRAINT ck_audit_events_actor_type CHECK (actor_type IN ('user', 'service', 'system', 'anonymous')),
        CONSTRAINT ck_audit_events_action CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
        CONSTRAINT ck_audit_events_outcome CHECK (outcome IN ('success', 'denied', 'error')),
        CONSTRAINT ck_audit_events_subject_count CHECK (subject_count IS NULL OR subject_count >= 0)
      )`);
    // Review queries are lab-scoped (RLS and the service); lab_id leads.
    await q.query(
      `CREATE INDEX ix_audit_events_lab_time ON audit_events (lab_id, occurred_at DESC, seq DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_audit_events_lab_resource ON audit_events (lab_id, resource_type, resource_id, occurred_at DESC) WHERE resource_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX ix_audit_events_lab_actor ON audit_events (lab_id, actor_user_id, occurred_at DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_audit_events_lab_patient ON audit_events (lab_id, patient_ref, occurred_at DESC) WHERE patient_ref IS NOT NULL`,
    );
    // Lists disclose many cases and patients at once; GIN has no btree columns
    // (no btree_gin), so these cannot lead with lab_id: the lab is filtered on top.
    await q.query(
      `CREATE INDEX ix_audit_events_entity_ids ON audit_events USING gin (entity_ids) WHERE entity_ids IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX ix_audit_events_patient_refs ON audit_events USING gin (patient_refs) WHERE patient_refs IS NOT NULL`,
    );
    // The sealer walks inserting transactions in order, across labs.
    await q.query(`CREATE INDEX ix_audit_events_tx ON audit_events (tx_id, seq)`);

    await q.query(`
      CREATE TABLE audit_chain (
        position   bigint       NOT NULL,
        seq        bigint       NOT NULL,
        tx_id      xid8         NOT NULL,
        prev_hash  char(64)     NOT NULL,
        row_hash   char(64)     NOT NULL,
        sealed_at  timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_audit_chain PRIMARY KEY (position),
        CONSTRAINT uq_audit_chain_seq UNIQUE (seq),
        CONSTRAINT ck_audit_chain_position CHECK (position > 0)
      )`);
    await q.query(`
      CREATE TABLE audit_chain_meta (
        chain_id    uuid         NOT NULL DEFAULT gen_random_uuid(),
        created_at  timestamptz  NOT NULL DEFAULT now(),
        singleton   boolean      NOT NULL DEFAULT true,
        CONSTRAINT pk_audit_chain_meta PRIMARY KEY (chain_id),
        CONSTRAINT uq_audit_chain_meta_singleton UNIQUE (singleton),
        CONSTRAINT ck_audit_chain_meta_singleton CHECK (singleton)
      )`);
    await q.query(`INSERT INTO audit_chain_meta DEFAULT VALUES`);

    // ---- append-only, for every role (privileges keep the app role out; the triggers also stop the owner)
    await q.query(`
      CREATE FUNCTION audit_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit trail is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    // Deletes only by the retention purge, and never of an event younger than 6 years.
    await q.query(`
      CREATE FUNCTION audit_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        happened timestamptz;
      BEGIN
        IF coalesce(current_setting('lhcms.audit_purge', true), '') <> 'on' THEN
          RAISE EXCEPTION 'audit trail is append-only: DELETE on % outside the retention purge', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_TABLE_NAME = 'audit_events' THEN
          happened := OLD.occurred_at;
        ELSE
          SELECT e.occurred_at INTO happened FROM audit_events e WHERE e.seq = OLD.seq;
        END IF;
        IF happened IS NOT NULL AND happened >= now() - interval '6 years' THEN
          RAISE EXCEPTION 'audit rows are kept at least 6 years (seq %)', OLD.seq
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
      END $$`);
    for (const t of ['audit_events', 'audit_chain', 'audit_chain_meta']) {
      await q.query(
        `CREATE TRIGGER tg_${t}_no_update BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION audit_forbid_change()`,
      );
      await q.query(
        `CREATE TRIGGER tg_${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change()`,
      );
    }
    for (const t of ['audit_events', 'audit_chain']) {
      await q.query(
        `CREATE TRIGGER tg_${t}_guard_delete BEFORE DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION audit_guard_delete()`,
      );
    }
    await q.query(
      `CREATE TRIGGER tg_audit_chain_meta_no_delete BEFORE DELETE ON audit_chain_meta FOR EACH ROW EXECUTE FUNCTION audit_forbid_change()`,
    );

    // ---- row-level security (the policies RLS everywhere else will use)
    await q.query(`ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE audit_events FORCE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY audit_events_owner ON audit_events TO CURRENT_USER USING (true) WITH CHECK (true)`,
    );
    // A group-commit batch holds rows of several labs: INSERT is not lab-restricted.
    await q.query(
      `CREATE POLICY audit_events_insert ON audit_events FOR INSERT TO PUBLIC WITH CHECK (true)`,
    );
    await q.query(
      `CREATE POLICY audit_events_select_lab ON audit_events FOR SELECT TO PUBLIC USING (lab_id = current_setting('app.lab_id', true))`,
    );

    // ---- the canonical row and its digest (version 1; the verifier rebuilds it in TypeScript)
    const schema = (
      (await q.query(`SELECT quote_ident(current_schema()) AS s`)) as Array<{ s: string }>
    )[0].s;
    await q.query(eventDigestV1(schema));
    for (const sql of sealerFunctionsV1(schema)) await q.query(sql);
    // Verify endpoint: chain entries with the digest of the event they cover now (NULL: event gone).
    await q.query(`
      CREATE FUNCTION audit_chain_digests(after_position bigint, max_rows integer)
      RETURNS TABLE (chain_position bigint, seq bigint, tx_id xid8, prev_hash text, row_hash text, digest text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT c.position, c.seq, c.tx_id, c.prev_hash::text, c.row_hash::text,
               (SELECT audit_event_digest(e) FROM audit_events e WHERE e.seq = c.seq)
        FROM audit_chain c
        WHERE c.position > after_position
        ORDER BY c.position
        LIMIT max_rows
      $$`);
    // Verify: events that can no longer be sealed (older than the chain head, never chained) were slipped in.
    await q.query(`
      CREATE FUNCTION audit_stray_events(below_tx xid8, max_rows integer)
      RETURNS TABLE (seq bigint, tx_id xid8)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT e.seq, e.tx_id FROM audit_events e
        WHERE e.tx_id < below_tx
          AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = e.seq)
        ORDER BY e.seq
        LIMIT max_rows
      $$`);
    for (const f of [
      'audit_seal_candidates(xid8, integer)',
      'audit_sealing_backlog(xid8)',
      'audit_chain_digests(bigint, integer)',
      'audit_stray_events(xid8, integer)',
      'audit_event_digest(audit_events)',
    ]) {
      await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
    }

    // ---- privileges of the application role: INSERT and SELECT, nothing else
    await grantToApp(q, 'SELECT, INSERT', 'TABLE audit_events');
    await grantToApp(q, 'SELECT, INSERT', 'TABLE audit_chain');
    await grantToApp(q, 'SELECT', 'TABLE audit_chain_meta');
    await grantToApp(
      q,
      'EXECUTE',
      'FUNCTION audit_seal_candidates(xid8, integer), audit_sealing_backlog(xid8), audit_chain_digests(bigint, integer), audit_stray_events(xid8, integer)',
    );
    if (!(await appRole(q))) {
      // One role for everything (no separate app role): it still needs the functions.
      await q.query(
        `GRANT EXECUTE ON FUNCTION audit_seal_candidates(xid8, integer), audit_sealing_backlog(xid8), audit_chain_digests(bigint, integer), audit_stray_events(xid8, integer) TO CURRENT_USER`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION audit_stray_events(xid8, integer)`);
    await q.query(`DROP FUNCTION audit_chain_digests(bigint, integer)`);
    await q.query(`DROP FUNCTION audit_sealing_backlog(xid8)`);
    await q.query(`DROP FUNCTION audit_seal_candidates(xid8, integer)`);
    await q.query(`DROP FUNCTION audit_event_digest(audit_events)`);
    await q.query(`DROP TABLE audit_chain_meta`);
    await q.query(`DROP TABLE audit_chain`);
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_guard_delete()`);
    await q.query(`DROP FUNCTION audit_forbid_change()`);
  }
}

/**
 * The version-1 digest function (the canonical row, spelled out; the verifier
 * rebuilds it in TypeScript). Also what FasterAuditSealing's down() restores.
 */
export function eventDigestV1(schema: string): string {
  return `
      CREATE OR REPLACE FUNCTION audit_event_digest(e audit_events) RETURNS text
      LANGUAGE sql STABLE SET search_path = ${schema}, pg_temp AS $$
        SELECT encode(sha256(convert_to('lhcms-audit-v1' || string_agg(
          CASE WHEN f.v IS NULL THEN 'N' ELSE 'S' || octet_length(f.v)::text || ':' || f.v END,
          '' ORDER BY f.i), 'UTF8')), 'hex')
        FROM unnest(ARRAY[
          e.seq::text,
          to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          e.tx_id::text,
          e.lab_id::text,
          e.actor_user_id::text,
          e.actor_type::text,
          e.actor_role::text,
          e.source_ip::text,
          e.user_agent::text,
          e.request_id::text,
          e.event_type::text,
          e.action::text,
          e.interaction::text,
          e.resource_type::text,
          e.resource_id::text,
          e.patient_ref::text,
          e.subject_count::text,
          e.entity_ids::text,
          e.patient_refs::text,
          e.query::text,
          e.changed_fields::text,
          e.outcome::text,
          e.outcome_detail::text,
          e.http_status::text,
          e.http_method::text,
          e.route::text
        ]) WITH ORDINALITY AS f(v, i)
      $$`;
}

/**
 * The first sealer functions: candidates and backlog, each anti-joined with
 * audit_chain (replaced by FasterAuditSealing, whose down() restores these).
 */
export function sealerFunctionsV1(schema: string): string[] {
  return [
    // Sealer: events of finished transactions (below the oldest running one) not yet chained, in order.
    `
      CREATE FUNCTION audit_seal_candidates(after_tx xid8, max_rows integer)
      RETURNS TABLE (seq bigint, tx_id xid8, digest text)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT e.seq, e.tx_id, audit_event_digest(e)
        FROM audit_events e
        WHERE e.tx_id >= after_tx
          AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
          AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = e.seq)
        ORDER BY e.tx_id, e.seq
        LIMIT max_rows
      $$`,
    // Sealing lag: committed events not yet chained.
    `
      CREATE FUNCTION audit_sealing_backlog(after_tx xid8)
      RETURNS TABLE (unsealed bigint, oldest timestamptz)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT count(*), min(e.recorded_at)
        FROM audit_events e
        WHERE e.tx_id >= after_tx
          AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = e.seq)
      $$`,
  ];
}
