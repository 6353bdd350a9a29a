import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { Env } from '@lhcms/config';
import { DatabaseConnector } from '@lhcms/database';
import { MetricsService } from '../metrics';
import { NatsSink, type OutboxEvent } from './nats-sink';

const BATCH = 200;

/**
 * A delivery channel fed by the dispatcher, inside the dispatch transaction:
 * `handOff` runs after the events are leased and before they are marked
 * dispatched, on the same connection (e.g. the webhooks write their delivery
 * rows there, so an event is fanned out exactly when it is marked). Throwing
 * rolls the round back: the events stay undispatched and come again.
 */
export interface OutboxChannel {
  readonly name: string;
  handOff(tx: QueryRunner, events: readonly OutboxEvent[]): Promise<void>;
}

/**
 * Moves committed events from the outbox to the delivery channels: the NATS
 * JetStream sink when EVENTS_NATS_URL is set, and the channels other modules
 * register (`addChannel`: the webhooks). Runs on every replica with
 * EVENTS_DISPATCHER=on (the default); one replica works at a time.
 *
 * One round, in one transaction: lease the oldest undispatched events
 * (`lhcms_outbox_lease`: FOR UPDATE SKIP LOCKED, only for the one replica
 * holding the dispatch lock, so a case's events leave in `seq` order),
 * publish them to NATS and wait for the acknowledgements, hand them to the
 * channels, mark them dispatched (which also gives them their `stream_seq`,
 * the order of the live feed), commit. A failure or a crash before the commit
 * leaves them undispatched and they are sent again (at least once; the event
 * id de-duplicates).
 */
@Injectable()
export class OutboxDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('OutboxDispatcher');
  private sink: NatsSink | undefined;
  private readonly channels: OutboxChannel[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private failing = false;
  private retryWait = 0;
  private reportedAt = 0;

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly metrics: MetricsService,
    private readonly connector: DatabaseConnector,
  ) {}

  get enabled(): boolean {
    return this.env.EVENTS_DISPATCHER === 'on';
  }

  /** Another delivery channel (call it before the application bootstraps, e.g. in onModuleInit). */
  addChannel(channel: OutboxChannel): void {
    this.channels.push(channel);
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    if (this.env.EVENTS_NATS_URL) {
      this.sink = new NatsSink(
        this.env.EVENTS_NATS_URL.split(','),
        this.env.EVENTS_NATS_STREAM,
        this.env.EVENTS_NATS_SUBJECT_PREFIX,
      );
    }
    // From the database's first connection on: a round before it would only fail (and log it).
    void this.connector.connected.then(() => this.schedule(0));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.sink?.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.loop();
    }, ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    let wait = this.env.EVENTS_DISPATCH_INTERVAL_MS;
    try {
      // A full batch: more are waiting, go on at once.
      while (!this.stopped && (await this.dispatchOnce()) === BATCH);
      if (this.failing) this.log.log('outbox dispatch recovered');
      this.failing = false;
      this.retryWait = 0;
    } catch (err) {
      // No event content in the log: the error's class and message only (NATS, PostgreSQL or a channel).
      if (!this.failing) {
        this.log.error(`outbox dispatch failed: ${(err as Error).name}: ${(err as Error).message}`);
      }
      this.failing = true;
      // Back off while it keeps failing: 10 × the interval, doubling, at most 10 s.
      this.retryWait = Math.min(this.retryWait > 0 ? this.retryWait * 2 : wait * 10, 10_000);
      wait = this.retryWait;
      await this.sink?.close();
    }
    // Also while dispatch fails: that is when the lag grows and its alert must see it.
    await this.reportBacklog().catch(() => undefined);
    this.schedule(wait);
  }

  /** The outbox lag for /metrics (an aggregate across labs: `lhcms_outbox_backlog()`). */
  private async reportBacklog(): Promise<void> {
    // At most every 5 s: a count over a long backlog is not free.
    if (Date.now() - this.reportedAt < 5000) return;
    this.reportedAt = Date.now();
    const r = await this.ds.query<Array<{ undispatched: string; oldest_age_seconds: number }>>(
      `SELECT undispatched, oldest_age_seconds FROM lhcms_outbox_backlog()`,
    );
    this.metrics.setOutboxBacklog(r[0].oldest_age_seconds, Number(r[0].undispatched));
  }

  /** One round; the number of events dispatched. */
  async dispatchOnce(): Promise<number> {
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      try {
        const leased = (await qr.query(`SELECT * FROM lhcms_outbox_lease($1)`, [BATCH])) as Array<
          Omit<OutboxEvent, 'seq'> & { seq: string }
        >;
        if (leased.length > 0) {
          const events = leased.map((e) => ({ ...e, seq: Number(e.seq) }));
          if (this.sink) await this.sink.publish(events);
          for (const channel of this.channels) await channel.handOff(qr, events);
          await qr.query(`SELECT lhcms_outbox_mark_dispatched($1::uuid[])`, [
            leased.map((e) => e.id),
          ]);
        }
        await qr.commitTransaction();
        return leased.length;
      } catch (err) {
        await qr.rollbackTransaction().catch(() => undefined);
        throw err;
      }
    } finally {
      await qr.release();
    }
  }
}
