import {
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type JetStreamClient,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** An event as the dispatcher leases it and the sinks send it. */
export interface OutboxEvent {
  id: string;
  type: string;
  lab_id: string;
  case_id: number;
  case_number: string | null;
  seq: number;
  occurred_at: string;
  payload: Record<string, unknown>;
}

/** A subject token: NATS reserves `.`, `*`, `>` and whitespace; anything else but [A-Za-z0-9_-] becomes `_`. */
export function subjectToken(v: string): string {
  return v.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}

/** `<prefix>.<lab_id>.<type>`, e.g. `lhcms.lab-1.case.status_changed`. */
export function subjectOf(prefix: string, e: Pick<OutboxEvent, 'lab_id' | 'type'>): string {
  return `${prefix}.${subjectToken(e.lab_id)}.${e.type}`;
}

/**
 * The NATS JetStream sink (EVENTS_NATS_URL): publishes each event to
 * `<prefix>.<lab_id>.<type>` with the event id as the message id, so
 * JetStream drops a re-send of an event it already has (within the stream's
 * duplicate window) — the outbox's at-least-once becomes once in the stream.
 */
export class NatsSink {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;

  constructor(
    private readonly servers: string[],
    private readonly stream: string,
    private readonly prefix: string,
  ) {}

  /** Connects and creates the stream when missing. */
  async open(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) return;
    const nc = await connect({ servers: this.servers, name: 'lhcms-outbox', timeout: 5000 });
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(this.stream);
      } catch (err) {
        if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
        await jsm.streams.add({ name: this.stream, subjects: [`${this.prefix}.>`] });
      }
      this.js = jetstream(nc);
      this.nc = nc;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Publishes the events in order and resolves when JetStream acknowledged
   * every one (a rejection: none may be marked dispatched). Publishes are
   * pipelined on the one connection, so the stream stores them in this order.
   */
  async publish(events: readonly OutboxEvent[]): Promise<void> {
    await this.open();
    const js = this.js!;
    await Promise.all(
      events.map((e) =>
        js.publish(subjectOf(this.prefix, e), JSON.stringify(e), { msgID: e.id, timeout: 5000 }),
      ),
    );
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.js = undefined;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }
}
