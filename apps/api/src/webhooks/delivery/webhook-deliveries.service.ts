import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { type Db, rows, TenantDb } from '@lhcms/database';
import { AuditService } from '../../audit';
import { WebhooksError } from '../webhooks.errors';
import { WebhookDeliveryError } from './webhook-delivery.errors';
import type { ReplayBody } from './webhook-delivery.schemas';
import { WebhookWorker } from './webhook-worker';

export interface DeliveryActor {
  labId: string;
  userId: string;
}

export interface DeliveryView {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  case_id: number;
  origin: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;
export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (col: string): string =>
  `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const VIEW = `d.id::text, d.subscription_id::text, d.event_id::text, o.type AS event_type, d.case_id,
  d.origin, d.status, d.attempts,
  CASE WHEN d.status = 'pending' THEN ${iso('d.next_attempt_at')} END AS next_attempt_at,
  ${iso('d.last_attempt_at')} AS last_attempt_at, d.last_status_code, d.last_error,
  ${iso('d.delivered_at')} AS delivered_at, ${iso('d.created_at')} AS created_at`;

/** A cursor: the last delivery id of a page (UUID v7: the log's newest-first order). */
function encodeCursor(id: string): string {
  return Buffer.from(`d1|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(s)) return undefined;
  const m = /^d1\|(.+)$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  return m && UUID.test(m[1]) ? m[1].toLowerCase() : undefined;
}

/**
 * The delivery log of a subscription, manual redeliver and replay (docs/api.md
 * "Webhooks"). Everything runs in the caller's lab (TenantDb): a subscription
 * or a delivery of another lab is simply not found.
 */
@Injectable()
export class WebhookDeliveriesService {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly audit: AuditService,
    private readonly worker: WebhookWorker,
  ) {}

  private async subscription(
    db: Db,
    labId: string,
    id: string,
    lock = false,
  ): Promise<{ events: string[] }> {
    if (!UUID.test(id)) throw WebhooksError.notFound();
    const found = await rows<{ events: string[] }>(
      db,
      `SELECT events FROM webhook_subscriptions WHERE id = $1 AND lab_id = $2${lock ? ' FOR SHARE' : ''}`,
      [id, labId],
    );
    if (!found[0]) throw WebhooksError.notFound();
    return found[0];
  }

  async list(
    actor: DeliveryActor,
    subscriptionId: string,
    query: Record<string, unknown>,
  ): Promise<{ deliveries: DeliveryView[]; next_cursor: string | null; limit: number }> {
    const errors: Record<string, string> = {};
    const one = (k: string): string | undefined => {
      const v = query[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') {
        errors[k] = 'must be given once';
        return undefined;
      }
      return v;
    };
    const status = one('status');
    if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
      errors.status = `must be one of ${DELIVERY_STATUSES.join(', ')}`;
    }
    const limitText = one('limit');
    let limit = LIST_LIMIT_DEFAULT;
    if (limitText !== undefined) {
      limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
      if (!(limit >= 1 && limit <= LIST_LIMIT_MAX)) {
        errors.limit = `must be an integer from 1 to ${LIST_LIMIT_MAX}`;
      }
    }
    const cursorText = one('cursor');
    const after = cursorText === undefined ? undefined : decodeCursor(cursorText);
    if (cursorText !== undefined && after === undefined) errors.cursor = 'is not a valid cursor';
    if (Object.keys(errors).length > 0) throw WebhookDeliveryError.invalidQuery(errors);

    return this.db.read(actor.labId, async (db) => {
      await this.subscription(db, actor.labId, subscriptionId);
      const params: unknown[] = [subscriptionId, limit + 1];
      let where = 'd.subscription_id = $1';
      if (status) {
        params.push(status);
        where += ` AND d.status = $${params.length}`;
      }
      if (after) {
        params.push(after);
        where += ` AND d.id < $${params.length}`;
      }
      const found = await db.rows<DeliveryView>(
        `SELECT ${VIEW} FROM webhook_deliveries d JOIN case_outbox o ON o.id = d.event_id
          WHERE ${where} ORDER BY d.id DESC LIMIT $2`,
        params,
      );
      const page = found.slice(0, limit);
      return {
        deliveries: page,
        next_cursor: found.length > limit ? encodeCursor(page[page.length - 1].id) : null,
        limit,
      };
    });
  }

  /** A new delivery of the same event (same `webhook-id`), queued at once. */
  async redeliver(
    actor: DeliveryActor,
    subscriptionId: string,
    deliveryId: string,
  ): Promise<DeliveryView> {
    const made = await this.db.withLab(actor.labId, async (em) => {
      await this.subscription(em, actor.labId, subscriptionId, true);
      if (!UUID.test(deliveryId)) throw WebhookDeliveryError.deliveryNotFound();
      const inserted = await rows<{ id: string; event_id: string }>(
        em,
        `INSERT INTO webhook_deliveries (lab_id, subscription_id, event_id, case_id, position, origin)
         SELECT d.lab_id, d.subscription_id, d.event_id, d.case_id, d.position, 'redeliver'
           FROM webhook_deliveries d
          WHERE d.id = $1 AND d.subscription_id = $2 AND d.lab_id = $3
         RETURNING id::text, event_id::text`,
        [deliveryId, subscriptionId, actor.labId],
      );
      if (!inserted[0]) throw WebhookDeliveryError.deliveryNotFound();
      await this.audit.recordChange(em, {
        labId: actor.labId,
        resourceType: 'webhook_delivery',
        resourceId: inserted[0].id,
        interaction: 'create',
        changedFields: [
          { field: 'origin', new: 'redeliver' },
          { field: 'subscription_id', new: subscriptionId },
          { field: 'redelivery_of', new: deliveryId },
          { field: 'event_id', new: inserted[0].event_id },
        ],
        patients: [],
      });
      const view = await rows<DeliveryView>(
        em,
        `SELECT ${VIEW} FROM webhook_deliveries d JOIN case_outbox o ON o.id = d.event_id WHERE d.id = $1`,
        [inserted[0].id],
      );
      return view[0];
    });
    this.worker.nudge(20);
    return made;
  }

  /**
   * New deliveries of the lab's dispatched events of the subscription's types
   * that occurred in [since, until), still in the outbox; refused beyond
   * WEBHOOK_REPLAY_MAX (nothing is made).
   */
  async replay(
    actor: DeliveryActor,
    subscriptionId: string,
    body: ReplayBody,
  ): Promise<{ deliveries: number; since: string; until: string }> {
    const now = Date.now();
    const since = Date.parse(body.since);
    const until = body.until === undefined ? now : Date.parse(body.until);
    const errors: Record<string, string> = {};
    if (!Number.isFinite(since)) errors.since = 'is not a date-time';
    else if (since > now) errors.since = 'is in the future';
    if (!Number.isFinite(until)) errors.until = 'is not a date-time';
    else if (Number.isFinite(since) && until <= since) errors.until = 'must be after since';
    if (Object.keys(errors).length > 0) throw WebhookDeliveryError.invalidReplay(errors);
    const window = { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
    const max = this.env.WEBHOOK_REPLAY_MAX;

    const count = await this.db.withLab(actor.labId, async (em) => {
      const sub = await this.subscription(em, actor.labId, subscriptionId, true);
      const matching = `FROM case_outbox o
         WHERE o.lab_id = $1 AND o.type = ANY ($2::text[]) AND o.dispatched_at IS NOT NULL
           AND o.occurred_at >= $3 AND o.occurred_at < $4`;
      const params = [actor.labId, sub.events, window.since, window.until];
      const n = await rows<{ n: number }>(
        em,
        `SELECT count(*)::int AS n FROM (SELECT 1 ${matching} LIMIT ${max + 1}) x`,
        params,
      );
      if (n[0].n > max) throw WebhookDeliveryError.replayTooLarge(max);
      const made = await rows<{ n: number }>(
        em,
        `WITH made AS (
           INSERT INTO webhook_deliveries (lab_id, subscription_id, event_id, case_id, position, origin)
           SELECT o.lab_id, $5, o.id, o.case_id, o.position, 'replay' ${matching}
            ORDER BY o.position
           RETURNING 1)
         SELECT count(*)::int AS n FROM made`,
        [...params, subscriptionId],
      );
      await this.audit.recordChange(em, {
        labId: actor.labId,
        // A replay of this subscription (not a change of it): its own resource type.
        resourceType: 'webhook_replay',
        resourceId: subscriptionId,
        interaction: 'create',
        changedFields: [
          { field: 'replay_since', new: window.since },
          { field: 'replay_until', new: window.until },
          { field: 'replay_deliveries', new: made[0].n },
        ],
        patients: [],
      });
      return made[0].n;
    });
    if (count > 0) this.worker.nudge(20);
    return { deliveries: count, ...window };
  }
}
