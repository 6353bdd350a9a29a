import type { MigrationInterface, QueryRunner } from 'typeorm';
import { grantToApp } from '../libs/database/src/migration-helpers';

/** First key of the transaction-scoped advisory locks of the delivery queues ("whq" + 1). */
const QUEUE_LOCK_CLASS = 7825521;

/**
 * Webhook delivery (issue 17, docs/events.md "Delivery", ADR "webhooks
 * delivery"): the owner-defined functions through which the delivery worker
 * works across labs, which the application role's row-level security does
 * not allow. Events and the delivery log hold no PHI; the subscription
 * secrets leave encrypted (the worker decrypts them with the lab's key).
 *
 * - `lhcms_webhook_fan_out(ids)`: in the dispatch transaction, one delivery
 *   row per (active subscription of the event's lab whose `events` lists the
 *   event's type, event) — one statement per dispatch round.
 * - `lhcms_webhook_lease(batch, lease_ms)`: leases due deliveries that are
 *   the HEAD of their (subscription, case) queue — the lowest
 *   (`position`, `id`) still pending — when no row of that queue holds a
 *   lease. Each candidate is taken under a transaction-scoped advisory lock
 *   of its queue and the row lock (`FOR UPDATE SKIP LOCKED`), and the head
 *   and lease conditions are checked again then, with a fresh snapshot: two
 *   replicas that computed the same heads at once never lease two rows of a
 *   queue. `attempts` counts leases (an attempt a dead replica started counts).
 *   An inactive subscription's deliveries wait (paused) until it is active again.
 * - `lhcms_webhook_complete(...)`: the outcome of an attempt, applied only
 *   while the caller's lease is the current one (`attempts` fences a replica
 *   whose lease expired and was taken over).
 * - `lhcms_webhook_release(id, attempt)`: gives a lease back unused (shutdown).
 * - `lhcms_webhook_backlog()`: pending deliveries and the oldest one's age
 *   (an aggregate for /metrics).
 */
export class WebhookDelivery1765660000000 implements MigrationInterface {
  name = 'WebhookDelivery1765660000000';

  async up(q: QueryRunner): Promise<void> {
    // The worker's candidates: due rows of the pending index, by due time.
    await q.query(
      `CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE status = 'pending'`,
    );

    await q.query(`
      CREATE FUNCTION lhcms_webhook_fan_out(ids uuid[]) RETURNS integer
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        WITH made AS (
          INSERT INTO webhook_deliveries (lab_id, subscription_id, event_id, case_id, position, origin)
          SELECT o.lab_id, s.id, o.id, o.case_id, o.position, 'live'
            FROM case_outbox o
            JOIN webhook_subscriptions s
              ON s.lab_id = o.lab_id AND s.active AND o.type = ANY (s.events)
           WHERE o.id = ANY (ids)
           ORDER BY o.position, s.id
          RETURNING 1
        )
        SELECT count(*)::integer FROM made
      $$`);

    await q.query(`
      CREATE FUNCTION lhcms_webhook_lease(batch integer, lease_ms integer)
      RETURNS TABLE (id uuid, lab_id varchar, subscription_id uuid, attempts integer, origin varchar,
                     created_at timestamptz, url text, secret text, previous_secret text,
                     previous_secret_expires_at timestamptz,
                     event_id uuid, type varchar, case_id integer, case_number varchar, seq bigint,
                     occurred_at text, payload jsonb)
      LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
      DECLARE
        cand record;
        got uuid;
        n integer := 0;
        wanted integer := least(greatest(batch, 1), 100);
      BEGIN
        FOR cand IN
          SELECT h.id, h.subscription_id, h.case_id FROM (
            SELECT DISTINCT ON (d.subscription_id, d.case_id)
                   d.id, d.subscription_id, d.case_id, d.next_attempt_at, d.lease_until
              FROM webhook_deliveries d
             WHERE d.status = 'pending'
             ORDER BY d.subscription_id, d.case_id, d.position, d.id
          ) h
          JOIN webhook_subscriptions s ON s.id = h.subscription_id AND s.active
           WHERE h.next_attempt_at <= clock_timestamp()
             AND (h.lease_until IS NULL OR h.lease_until <= clock_timestamp())
           ORDER BY h.next_attempt_at
           LIMIT wanted * 4
        LOOP
          EXIT WHEN n >= wanted;
          -- One replica at a time decides about a queue; a busy queue is skipped, not waited for.
          CONTINUE WHEN NOT pg_try_advisory_xact_lock(
            ${QUEUE_LOCK_CLASS}, hashtext(cand.subscription_id::text || '/' || cand.case_id::text));
          -- Checked again under the queue lock and the row lock, on a fresh snapshot: still pending
          -- and due, still the head, and no row of its queue leased (a redeliver of an older event
          -- made while one is in flight waits for it).
          got := NULL;
          UPDATE webhook_deliveries w
             SET lease_until = clock_timestamp() + make_interval(secs => lease_ms / 1000.0),
                 attempts = w.attempts + 1
           WHERE w.id = (
             SELECT x.id FROM webhook_deliveries x
              WHERE x.id = cand.id AND x.status = 'pending'
                AND x.next_attempt_at <= clock_timestamp()
                AND (x.lease_until IS NULL OR x.lease_until <= clock_timestamp())
                AND EXISTS (SELECT 1 FROM webhook_subscriptions a
                             WHERE a.id = x.subscription_id AND a.active)
                AND NOT EXISTS (
                  SELECT 1 FROM webhook_deliveries p
                   WHERE p.subscription_id = x.subscription_id AND p.case_id = x.case_id
                     AND p.status = 'pending' AND p.id <> x.id
                     AND ((p.position, p.id) < (x.position, x.id) OR p.lease_until > clock_timestamp()))
                FOR UPDATE SKIP LOCKED)
          RETURNING w.id INTO got;
          CONTINUE WHEN got IS NULL;
          n := n + 1;
          RETURN QUERY
            SELECT d.id, d.lab_id, d.subscription_id, d.attempts, d.origin, d.created_at, s.url, s.secret,
                   s.previous_secret, s.previous_secret_expires_at,
                   o.id, o.type, o.case_id, o.case_number, o.seq,
                   to_char(o.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), o.payload
              FROM webhook_deliveries d
              JOIN webhook_subscriptions s ON s.id = d.subscription_id
              JOIN case_outbox o ON o.id = d.event_id
             WHERE d.id = got;
        END LOOP;
      END
      $$`);

    await q.query(`
      CREATE FUNCTION lhcms_webhook_complete(
        p_id uuid, p_attempt integer, p_delivered boolean, p_status_code integer, p_error varchar,
        p_retry_ms bigint, p_window_seconds double precision)
      RETURNS TABLE (status varchar, next_attempt_at timestamptz)
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        UPDATE webhook_deliveries d SET
               status = CASE
                 WHEN p_delivered THEN 'delivered'
                 WHEN clock_timestamp() >= d.created_at + make_interval(secs => p_window_seconds) THEN 'dead'
                 ELSE 'pending' END,
               delivered_at = CASE WHEN p_delivered THEN clock_timestamp() END,
               next_attempt_at = CASE WHEN p_delivered THEN d.next_attempt_at ELSE least(
                 clock_timestamp() + make_interval(secs => p_retry_ms / 1000.0),
                 d.created_at + make_interval(secs => p_window_seconds)) END,
               lease_until = NULL,
               last_attempt_at = clock_timestamp(),
               last_status_code = p_status_code,
               last_error = CASE WHEN p_delivered THEN NULL ELSE left(p_error, 200) END
         WHERE d.id = p_id AND d.attempts = p_attempt AND d.status = 'pending'
        RETURNING d.status, d.next_attempt_at
      $$`);

    await q.query(`
      CREATE FUNCTION lhcms_webhook_release(p_id uuid, p_attempt integer) RETURNS void
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        UPDATE webhook_deliveries SET lease_until = NULL, attempts = attempts - 1
         WHERE id = p_id AND attempts = p_attempt AND status = 'pending' AND attempts > 0
      $$`);

    await q.query(`
      CREATE FUNCTION lhcms_webhook_backlog(OUT pending bigint, OUT oldest_age_seconds double precision)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::double precision
          FROM webhook_deliveries WHERE status = 'pending'
      $$`);

    for (const f of [
      'lhcms_webhook_fan_out(uuid[])',
      'lhcms_webhook_lease(integer, integer)',
      'lhcms_webhook_complete(uuid, integer, boolean, integer, varchar, bigint, double precision)',
      'lhcms_webhook_release(uuid, integer)',
      'lhcms_webhook_backlog()',
    ]) {
      await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
      await grantToApp(q, 'EXECUTE', `FUNCTION ${f}`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS lhcms_webhook_backlog()`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_webhook_release(uuid, integer)`);
    await q.query(
      `DROP FUNCTION IF EXISTS lhcms_webhook_complete(uuid, integer, boolean, integer, varchar, bigint, double precision)`,
    );
    await q.query(`DROP FUNCTION IF EXISTS lhcms_webhook_lease(integer, integer)`);
    await q.query(`DROP FUNCTION IF EXISTS lhcms_webhook_fan_out(uuid[])`);
    await q.query(`DROP INDEX IF EXISTS ix_webhook_deliveries_due`);
  }
}
