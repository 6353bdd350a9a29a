import { Injectable } from '@nestjs/common';
import { type Db, rows } from '@lhcms/database';
import type { OutboxEventType } from '../../events';

const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The columns a subscription shows (never its secrets). */
const COLUMNS = `id, url, events, active, created_by, ${TS('created_at')} AS created_at,
  ${TS('updated_at')} AS updated_at,
  CASE WHEN previous_secret_expires_at > now() THEN ${TS('previous_secret_expires_at')} END
    AS previous_secret_expires_at`;

/** A subscription as the API shows it. */
export interface WebhookSubscriptionRow {
  id: string;
  url: string;
  events: OutboxEventType[];
  active: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  previous_secret_expires_at: string | null;
}

/**
 * Namespace of the transaction-scoped advisory lock that serialises the
 * subscription writes of one lab that must see each other (the cap): the
 * second key is the lab id's hash. "whsb" in ASCII.
 */
const LAB_LOCK_NAMESPACE = 0x77687362;

/**
 * The SQL of `webhook_subscriptions`, on the transaction it is given (under
 * the lab's row-level security); every statement still names the lab.
 */
@Injectable()
export class WebhookSubscriptionsRepository {
  async list(db: Db, labId: string): Promise<WebhookSubscriptionRow[]> {
    return rows<WebhookSubscriptionRow>(
      db,
      `SELECT ${COLUMNS} FROM webhook_subscriptions WHERE lab_id = $1 ORDER BY created_at, id`,
      [labId],
    );
  }

  async get(db: Db, labId: string, id: string): Promise<WebhookSubscriptionRow | undefined> {
    const found = await rows<WebhookSubscriptionRow>(
      db,
      `SELECT ${COLUMNS} FROM webhook_subscriptions WHERE lab_id = $1 AND id = $2`,
      [labId, id],
    );
    return found[0];
  }

  /** Locks the row for the rest of the transaction and returns what a change compares with. */
  async lock(
    db: Db,
    labId: string,
    id: string,
  ): Promise<(WebhookSubscriptionRow & { secret: string }) | undefined> {
    const found = await rows<WebhookSubscriptionRow & { secret: string }>(
      db,
      `SELECT ${COLUMNS}, secret FROM webhook_subscriptions WHERE lab_id = $1 AND id = $2 FOR UPDATE`,
      [labId, id],
    );
    return found[0];
  }

  /**
   * Takes the lab's subscription lock (until the transaction ends) and counts
   * the lab's subscriptions: two concurrent creates at the cap are serialised
   * here, so the second counts the first's row.
   */
  async lockLabAndCount(db: Db, labId: string): Promise<number> {
    await rows(db, `SELECT pg_advisory_xact_lock($1::int, hashtext($2))`, [
      LAB_LOCK_NAMESPACE,
      labId,
    ]);
    const [{ n }] = await rows<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM webhook_subscriptions WHERE lab_id = $1`,
      [labId],
    );
    return n;
  }

  async insert(
    db: Db,
    s: {
      labId: string;
      url: string;
      events: readonly string[];
      active: boolean;
      secret: string;
      createdBy: string;
    },
  ): Promise<WebhookSubscriptionRow> {
    const [row] = await rows<WebhookSubscriptionRow>(
      db,
      `INSERT INTO webhook_subscriptions (lab_id, url, events, active, secret, created_by)
       VALUES ($1, $2, $3::text[], $4, $5, $6)
       RETURNING ${COLUMNS}`,
      [s.labId, s.url, s.events, s.active, s.secret, s.createdBy],
    );
    return row;
  }

  async update(
    db: Db,
    labId: string,
    id: string,
    changes: { url?: string; events?: readonly string[]; active?: boolean },
  ): Promise<WebhookSubscriptionRow> {
    const [row] = await rows<WebhookSubscriptionRow>(
      db,
      `UPDATE webhook_subscriptions
          SET url = COALESCE($3, url), events = COALESCE($4::text[], events),
              active = COALESCE($5, active), updated_at = now()
        WHERE lab_id = $1 AND id = $2
        RETURNING ${COLUMNS}`,
      [labId, id, changes.url ?? null, changes.events ?? null, changes.active ?? null],
    );
    return row;
  }

  /**
   * A new secret; the one it replaces (as stored: the same encryption
   * binding) signs beside it until `overlapHours` from now — none when 0.
   */
  async rotate(
    db: Db,
    labId: string,
    id: string,
    secret: string,
    overlapHours: number,
  ): Promise<WebhookSubscriptionRow> {
    const [row] = await rows<WebhookSubscriptionRow>(
      db,
      `UPDATE webhook_subscriptions
          SET previous_secret = CASE WHEN $4::int > 0 THEN secret END,
              previous_secret_expires_at = CASE WHEN $4::int > 0 THEN now() + make_interval(hours => $4::int) END,
              secret = $3, updated_at = now()
        WHERE lab_id = $1 AND id = $2
        RETURNING ${COLUMNS}`,
      [labId, id, secret, overlapHours],
    );
    return row;
  }

  /** Deletes the subscription (its deliveries go with it: the foreign key cascades); false when there was none. */
  async delete(db: Db, labId: string, id: string): Promise<boolean> {
    const gone = await rows<{ id: string }>(
      db,
      `DELETE FROM webhook_subscriptions WHERE lab_id = $1 AND id = $2 RETURNING id`,
      [labId, id],
    );
    return gone.length > 0;
  }
}
