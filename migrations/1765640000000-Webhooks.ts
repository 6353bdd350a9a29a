import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  disableTenantRls,
  enableTenantRls,
  grantToApp,
} from '../libs/database/src/migration-helpers';

/**
 * Webhooks (issue 17, docs/events.md): a lab's subscriptions and the log of
 * their deliveries. Both are tenant tables under forced row-level security.
 *
 * - `webhook_subscriptions`: where a lab's events go. `secret` and
 *   `previous_secret` are the Standard Webhooks signing secrets (`whsec_…`),
 *   stored encrypted with the lab's data key (PhiCipher.encryptText, bound to
 *   `webhook_subscriptions.secret`); after a rotation the previous secret
 *   still signs (a second signature) until `previous_secret_expires_at`, so a
 *   receiver that has not switched yet keeps verifying.
 * - `webhook_deliveries`: one row per (subscription, event) sent or to be
 *   sent: made when the outbox dispatcher hands an event over (in the same
 *   transaction that marks it dispatched), or by a manual redeliver or a
 *   replay (`origin`). `position` is the event's outbox position: the order a
 *   subscription receives a case's events in. The worker leases a row with
 *   `lease_until` (a replica that dies mid-delivery leaves a lease that
 *   expires, and another retries). No response bodies are stored; `last_error`
 *   is a short, PHI-free description. A delivery goes with its event when the
 *   outbox is pruned, and with its subscription when that is deleted.
 */
export class Webhooks1765640000000 implements MigrationInterface {
  name = 'Webhooks1765640000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_subscriptions (
        id                         uuid         NOT NULL DEFAULT gen_random_uuid(),
        lab_id                     varchar(50)  NOT NULL,
        url                        text         NOT NULL,
        events                     text[]       NOT NULL,
        active                     boolean      NOT NULL DEFAULT true,
        secret                     text         NOT NULL,
        previous_secret            text,
        previous_secret_expires_at timestamptz,
        created_by                 varchar(100) NOT NULL,
        created_at                 timestamptz  NOT NULL DEFAULT now(),
        updated_at                 timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_webhook_subscriptions PRIMARY KEY (id),
        CONSTRAINT uq_webhook_subscriptions_lab_id UNIQUE (lab_id, id),
        CONSTRAINT ck_webhook_subscriptions_url CHECK (char_length(url) BETWEEN 1 AND 2048),
        CONSTRAINT ck_webhook_subscriptions_events CHECK (cardinality(events) >= 1),
        CONSTRAINT ck_webhook_subscriptions_previous CHECK (
          (previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
      )`);
    await q.query(
      `CREATE INDEX ix_webhook_subscriptions_lab ON webhook_subscriptions (lab_id, created_at, id)`,
    );
    await enableTenantRls(q, 'webhook_subscriptions');
    await grantToApp(q, 'SELECT, INSERT, UPDATE, DELETE', 'TABLE webhook_subscriptions');

    await q.query(`
      CREATE TABLE webhook_deliveries (
        id               uuid         NOT NULL DEFAULT lhcms_uuid_v7(),
        lab_id           varchar(50)  NOT NULL,
        subscription_id  uuid         NOT NULL,
        event_id         uuid         NOT NULL,
        case_id          integer      NOT NULL,
        position         bigint       NOT NULL,
        origin           varchar(10)  NOT NULL DEFAULT 'live',
        status           varchar(10)  NOT NULL DEFAULT 'pending',
        attempts         integer      NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz  NOT NULL DEFAULT now(),
        lease_until      timestamptz,
        last_attempt_at  timestamptz,
        last_status_code integer,
        last_error       varchar(200),
        delivered_at     timestamptz,
        created_at       timestamptz  NOT NULL DEFAULT now(),
        CONSTRAINT pk_webhook_deliveries PRIMARY KEY (id),
        CONSTRAINT fk_webhook_deliveries_subscription FOREIGN KEY (lab_id, subscription_id)
          REFERENCES webhook_subscriptions (lab_id, id) ON DELETE CASCADE,
        CONSTRAINT fk_webhook_deliveries_event FOREIGN KEY (event_id)
          REFERENCES case_outbox (id) ON DELETE CASCADE,
        CONSTRAINT ck_webhook_deliveries_origin CHECK (origin IN ('live', 'redeliver', 'replay')),
        CONSTRAINT ck_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'dead')),
        CONSTRAINT ck_webhook_deliveries_attempts CHECK (attempts >= 0)
      )`);
    // The worker's queue: the pending rows, a subscription's case in event order (small: rows leave it when done).
    await q.query(
      `CREATE INDEX ix_webhook_deliveries_pending ON webhook_deliveries (subscription_id, case_id, position)
        WHERE status = 'pending'`,
    );
    // The delivery log of a subscription, newest first.
    await q.query(
      `CREATE INDEX ix_webhook_deliveries_log ON webhook_deliveries (subscription_id, id DESC)`,
    );
    await q.query(`CREATE INDEX ix_webhook_deliveries_event ON webhook_deliveries (event_id)`);
    await enableTenantRls(q, 'webhook_deliveries');
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE webhook_deliveries');
  }

  async down(q: QueryRunner): Promise<void> {
    await disableTenantRls(q, 'webhook_deliveries');
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await disableTenantRls(q, 'webhook_subscriptions');
    await q.query(`DROP TABLE IF EXISTS webhook_subscriptions`);
  }
}
