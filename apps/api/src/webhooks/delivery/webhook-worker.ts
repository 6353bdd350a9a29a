import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Env } from '@lhcms/config';
import { DatabaseConnector } from '@lhcms/database';
import { PhiCipher } from '../../encryption';
import type { OutboxEvent } from '../../events';
import { MetricsService } from '../../metrics';
import { webhookUrlPolicy, type WebhookUrlPolicy } from '../url-policy';
import { WEBHOOK_SECRET_BINDING } from '../webhook-secret';
import { postWebhook, signatureHeader, type AttemptResult } from './webhook-sender';

/** A delivery as `lhcms_webhook_lease` hands it out (the event joined). */
interface LeasedRow {
  id: string;
  lab_id: string;
  subscription_id: string;
  attempts: number;
  origin: 'live' | 'redeliver' | 'replay';
  created_at: Date;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  event_id: string;
  type: string;
  case_id: number;
  case_number: string | null;
  seq: string;
  occurred_at: string;
  payload: Record<string, unknown>;
}

/** The envelope a receiver gets: exactly the outbox event (docs/events.md), in this key order. */
export function envelopeOf(r: LeasedRow): OutboxEvent {
  return {
    id: r.event_id,
    type: r.type,
    lab_id: r.lab_id,
    case_id: r.case_id,
    case_number: r.case_number,
    seq: Number(r.seq),
    occurred_at: r.occurred_at,
    payload: r.payload,
  };
}

/**
 * Exponential backoff with full jitter: the n-th failure (n ≥ 1) waits a
 * random time between 0 and min(max, base · 2^(n-1)).
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.floor(random() * ceiling);
}

/**
 * The webhook delivery worker (docs/events.md "Delivery", ADR "webhooks
 * delivery"). Runs on every replica with EVENTS_DISPATCHER=on and
 * WEBHOOK_WORKER=on; any number of them share the work through the database:
 *
 * - leases due deliveries that head their (subscription, case) queue
 *   (`lhcms_webhook_lease`: a lease column with an expiry, taken under
 *   FOR UPDATE SKIP LOCKED and a per-queue advisory lock), up to the free
 *   places of WEBHOOK_CONCURRENCY;
 * - sends each (signed POST), and records the outcome
 *   (`lhcms_webhook_complete`, fenced by the attempt number of the lease):
 *   delivered; or a retry after an exponential, fully jittered delay; or dead
 *   at the end of WEBHOOK_RETRY_HOURS;
 * - a replica that dies mid-delivery leaves its lease, which expires, and
 *   another replica sends again (same `webhook-id`: at least once).
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('WebhookWorker');
  private readonly policy: WebhookUrlPolicy;
  private readonly inFlight = new Map<string, { row: LeasedRow; abort: AbortController }>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failing = false;
  private reportedAt = 0;

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly cipher: PhiCipher,
    private readonly metrics: MetricsService,
    private readonly connector: DatabaseConnector,
  ) {
    this.policy = webhookUrlPolicy(env);
  }

  get enabled(): boolean {
    return this.env.EVENTS_DISPATCHER === 'on' && this.env.WEBHOOK_WORKER === 'on';
  }

  /** The lease a replica takes: long enough to outlast one attempt. */
  get leaseMs(): number {
    return Math.max(this.env.WEBHOOK_LEASE_MS, this.env.WEBHOOK_TIMEOUT_MS + 5000);
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    // From the database's first connection on: a poll before it would only fail (and log it).
    void this.connector.connected.then(() => this.schedule(0));
  }

  /** Stops leasing; waits a little for the deliveries in flight, then gives their leases back. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
    const until = Date.now() + 2000;
    while (this.inFlight.size > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const { row, abort } of this.inFlight.values()) {
      abort.abort();
      await this.ds
        .query(`SELECT lhcms_webhook_release($1, $2)`, [row.id, row.attempts])
        .catch(() => undefined);
    }
  }

  /** Look for work soon (after a fan-out, or when a place frees up). */
  nudge(delayMs = 0): void {
    if (!this.enabled || this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    this.schedule(delayMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
      });
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let wait = this.env.WEBHOOK_POLL_INTERVAL_MS;
    try {
      this.again = false;
      const free = this.env.WEBHOOK_CONCURRENCY - this.inFlight.size;
      if (free > 0) {
        const leased = await this.ds.query<LeasedRow[]>(
          `SELECT * FROM lhcms_webhook_lease($1, $2)`,
          [free, this.leaseMs],
        );
        for (const row of leased) this.start(row);
        // Every place taken: there may be more; look again as soon as one frees up.
        if (leased.length === free || this.again) wait = 0;
      }
      if (this.failing) this.log.log('webhook delivery recovered');
      this.failing = false;
      await this.reportBacklog();
    } catch (err) {
      if (!this.failing) {
        this.log.error(`webhook leasing failed: ${(err as Error).name}: ${(err as Error).message}`);
      }
      this.failing = true;
      wait = Math.min(Math.max(wait, 1000) * 2, 10_000);
    }
    if (this.inFlight.size >= this.env.WEBHOOK_CONCURRENCY) return; // a finishing delivery nudges
    this.schedule(wait);
  }

  private async reportBacklog(): Promise<void> {
    if (Date.now() - this.reportedAt < 5000) return;
    this.reportedAt = Date.now();
    const r = await this.ds.query<Array<{ pending: string; oldest_age_seconds: number }>>(
      `SELECT pending, oldest_age_seconds FROM lhcms_webhook_backlog()`,
    );
    this.metrics.setWebhookBacklog(Number(r[0].pending), r[0].oldest_age_seconds);
  }

  private start(row: LeasedRow): void {
    const abort = new AbortController();
    this.inFlight.set(row.id, { row, abort });
    void this.deliver(row, abort.signal)
      .catch((err: Error) => {
        // The lease expires and another attempt follows; no delivery content in the log.
        this.log.error(`webhook delivery ${row.id} not recorded: ${err.name}: ${err.message}`);
      })
      .finally(() => {
        this.inFlight.delete(row.id);
        this.nudge();
      });
  }

  private async secretsOf(row: LeasedRow): Promise<string[]> {
    const secrets = [await this.cipher.decryptText(row.lab_id, WEBHOOK_SECRET_BINDING, row.secret)];
    if (
      row.previous_secret &&
      row.previous_secret_expires_at &&
      new Date(row.previous_secret_expires_at).getTime() > Date.now()
    ) {
      secrets.push(
        await this.cipher.decryptText(row.lab_id, WEBHOOK_SECRET_BINDING, row.previous_secret),
      );
    }
    return secrets;
  }

  private async deliver(row: LeasedRow, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(envelopeOf(row));
    let result: AttemptResult;
    try {
      const at = new Date();
      const secrets = await this.secretsOf(row);
      result = await postWebhook(
        row.url,
        body,
        {
          'webhook-id': row.event_id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signatureHeader(secrets, row.event_id, at, body),
        },
        {
          timeoutMs: this.env.WEBHOOK_TIMEOUT_MS,
          maxResponseBytes: this.env.WEBHOOK_RESPONSE_MAX_BYTES,
          policy: this.policy,
          signal,
        },
      );
    } catch {
      // The secret did not decrypt (a missing data key), or a bug: a failed attempt, retried.
      result = { delivered: false, statusCode: null, error: 'delivery could not be prepared' };
    }
    if (this.stopped && !result.delivered) return; // shutting down: the lease is given back
    const r = await this.ds.query<Array<{ status: string }>>(
      `SELECT status FROM lhcms_webhook_complete($1, $2, $3, $4, $5, $6, $7)`,
      [
        row.id,
        row.attempts,
        result.delivered,
        result.statusCode,
        result.error,
        retryDelayMs(row.attempts, this.env.WEBHOOK_RETRY_BASE_MS, this.env.WEBHOOK_RETRY_MAX_MS),
        this.env.WEBHOOK_RETRY_HOURS * 3600,
      ],
    );
    const status = r[0]?.status;
    if (status === undefined) return; // our lease had expired and was taken over: theirs counts
    if (status === 'delivered') {
      const latency =
        row.origin === 'live' ? (Date.now() - Date.parse(row.occurred_at)) / 1000 : undefined;
      this.metrics.webhookAttempt('delivered', latency);
    } else {
      this.metrics.webhookAttempt(status === 'dead' ? 'dead' : 'retry');
    }
  }
}
