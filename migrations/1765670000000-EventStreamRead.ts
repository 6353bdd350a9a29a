import type { MigrationInterface, QueryRunner } from 'typeorm';
import { grantToApp } from '../libs/database/src/migration-helpers';

/**
 * The live feed's reads across labs (issue 17, docs/events.md "The live
 * feed (SSE)"). Each replica runs ONE poller for all of its open streams,
 * whatever their labs; the application role's row-level security shows one
 * lab per transaction, so the poller reads through these owner-defined
 * functions only (like `lhcms_outbox_lease`). They return dispatched events
 * only — the ones with a `stream_seq`, whose committed values only grow at
 * the end (migration 1765650000000) — of the labs asked for, in
 * `stream_seq` order, at most `batch` (capped at 1000). Events hold no PHI
 * by construction. A stream's own catch-up (from its Last-Event-ID) is a
 * lab-scoped query under RLS, not these.
 */
export class EventStreamRead1765670000000 implements MigrationInterface {
  name = 'EventStreamRead1765670000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION lhcms_outbox_stream_read(after bigint, labs varchar[], batch integer)
      RETURNS TABLE (stream_seq bigint, id uuid, lab_id varchar, case_id integer, case_number varchar,
                     seq bigint, type varchar, occurred_at text, payload jsonb)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT o.stream_seq, o.id, o.lab_id, o.case_id, o.case_number, o.seq, o.type,
               to_char(o.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), o.payload
          FROM case_outbox o
         WHERE o.stream_seq > after AND o.lab_id = ANY (labs)
         ORDER BY o.stream_seq
         LIMIT least(greatest(batch, 1), 1000)
      $$`);
    // Where the stream is now (the poller starts there): the last committed stream_seq of any lab.
    await q.query(`
      CREATE FUNCTION lhcms_outbox_stream_head() RETURNS bigint
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT coalesce(max(stream_seq), 0) FROM case_outbox
      $$`);
    for (const f of [
      'lhcms_outbox_stream_read(bigint, varchar[], integer)',
      'lhcms_outbox_stream_head()',
    ]) {
      await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
      await grantToApp(q, 'EXECUTE', `FUNCTION ${f}`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS lhcms_outbox_stream_head()`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_outbox_stream_read(bigint, varchar[], integer)`);
  }
}
