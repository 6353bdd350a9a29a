import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The order the delivery channels see events in (issue 17, docs/events.md).
 *
 * `position` is taken when an event is inserted, but transactions commit in
 * another order: a reader that follows `position` can pass an event whose
 * transaction commits later with a smaller position, and never see it. The
 * dispatcher therefore numbers events again when it hands them over:
 * `stream_seq`, from one sequence, in `position` order, inside the dispatch
 * transaction — and only one dispatch transaction runs at a time (the
 * dispatch advisory lock of `lhcms_outbox_lease`), each committing before
 * the next takes numbers. So the committed `stream_seq`s only ever grow at
 * the end: a reader that remembers the last one it saw (the live feed's
 * `Last-Event-ID`, resolved to its `stream_seq`) misses nothing and reads
 * nothing twice. Events dispatched before this migration have none (they
 * were never on a stream).
 */
export class OutboxStreamOrder1765650000000 implements MigrationInterface {
  name = 'OutboxStreamOrder1765650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE case_outbox ADD COLUMN stream_seq bigint`);
    await q.query(`CREATE SEQUENCE case_outbox_stream_seq AS bigint`);
    // A lab's stream (the live feed: RLS narrows to the lab, the index orders it)…
    await q.query(
      `CREATE UNIQUE INDEX ix_case_outbox_lab_stream ON case_outbox (lab_id, stream_seq)
        WHERE stream_seq IS NOT NULL`,
    );
    // …and every lab's (a replica's one poller for all its streams).
    await q.query(
      `CREATE UNIQUE INDEX ix_case_outbox_stream ON case_outbox (stream_seq)
        WHERE stream_seq IS NOT NULL`,
    );
    await q.query(`
      CREATE OR REPLACE FUNCTION lhcms_outbox_mark_dispatched(ids uuid[]) RETURNS integer
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        WITH todo AS MATERIALIZED (
          SELECT o.id FROM case_outbox o
           WHERE o.id = ANY (ids) AND o.dispatched_at IS NULL
           ORDER BY o.position
        ), numbered AS (
          SELECT todo.id, nextval('case_outbox_stream_seq') AS s FROM todo
        ), d AS (
          UPDATE case_outbox c SET dispatched_at = now(), stream_seq = numbered.s
            FROM numbered WHERE c.id = numbered.id RETURNING 1
        )
        SELECT count(*)::integer FROM d
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION lhcms_outbox_mark_dispatched(ids uuid[]) RETURNS integer
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        WITH d AS (UPDATE case_outbox SET dispatched_at = now()
                    WHERE id = ANY (ids) AND dispatched_at IS NULL RETURNING 1)
        SELECT count(*)::integer FROM d
      $$`);
    await q.query(`DROP INDEX IF EXISTS ix_case_outbox_stream`);
    await q.query(`DROP INDEX IF EXISTS ix_case_outbox_lab_stream`);
    await q.query(`DROP SEQUENCE IF EXISTS case_outbox_stream_seq`);
    await q.query(`ALTER TABLE case_outbox DROP COLUMN IF EXISTS stream_seq`);
  }
}
