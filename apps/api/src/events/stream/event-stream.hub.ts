import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { MetricsService } from '../../metrics';
import type { OutboxEvent } from '../nats-sink';
import { EventStreamError } from './event-stream.errors';
import type { EventStream } from './event-stream';

/** An event as the live feed reads it: the envelope and its place in the stream order. */
export interface StreamEvent extends OutboxEvent {
  stream_seq: number;
}

type Row = Omit<StreamEvent, 'seq' | 'stream_seq'> & { seq: string; stream_seq: string };

/** Events per read of the poller (the function caps at 1000) and per page of a catch-up. */
export const POLL_BATCH = 500;

const COLUMNS = `stream_seq, id, type, lab_id, case_id, case_number, seq,
  to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at, payload`;

function toEvent(r: Row): StreamEvent {
  return {
    id: r.id,
    type: r.type,
    lab_id: r.lab_id,
    case_id: r.case_id,
    case_number: r.case_number,
    seq: Number(r.seq),
    occurred_at: r.occurred_at,
    payload: r.payload,
    stream_seq: Number(r.stream_seq),
  };
}

/**
 * The live feed of one replica: which streams are open (per lab, per user,
 * in all) and the ONE poller that feeds them from the database.
 *
 * The poller reads the events dispatched after its cursor (`stream_seq >
 * cursor`) of every lab with an open stream here, through the owner-defined
 * `lhcms_outbox_stream_read` (a replica's streams span labs; row-level
 * security shows one lab per transaction), and fans each out in memory to
 * the streams of its lab. Committed `stream_seq`s only grow at the end
 * (docs/events.md, "The stream order"), so a cursor misses nothing and
 * reads nothing twice. It runs only while streams are open; it starts at
 * the stream's head.
 *
 * The hand-over of a new stream: it resolves its start (the Last-Event-ID's
 * `stream_seq`, or its lab's last one) before it joins. The poller admits
 * joiners only between two reads: it fixes the stream's `joinAt` to its
 * cursor then, and from the next read on fans the stream's lab out to it
 * (every event > joinAt). The stream reads (start, joinAt] itself with a
 * lab-scoped query (RLS) and holds the live events that arrive meanwhile
 * until that catch-up is written. Every stream also drops an event at or
 * below the last `stream_seq` it wrote, so overlaps (a start past the
 * cursor) never duplicate.
 */
@Injectable()
export class EventStreamHub implements OnApplicationShutdown {
  private readonly log = new Logger('EventStream');
  private readonly labs = new Map<string, Set<EventStream>>();
  private readonly perUser = new Map<string, number>();
  private readonly all = new Set<EventStream>();
  private reserved = 0;
  private joining: EventStream[] = [];
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private closing = false;

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly db: TenantDb,
    private readonly metrics: MetricsService,
  ) {}

  /** Open streams on this replica (tests, logs). */
  get open(): number {
    return this.all.size;
  }

  /**
   * Takes a place for one more stream of `userId`, or refuses: 503 while
   * shutting down or at EVENTS_STREAM_MAX_PER_REPLICA, 429 at
   * EVENTS_STREAM_MAX_PER_USER. Synchronous, so that concurrent opens
   * cannot pass a limit together. `release` gives the place back.
   */
  reserve(userId: string): void {
    if (this.closing || this.reserved >= this.env.EVENTS_STREAM_MAX_PER_REPLICA) {
      this.metrics.eventStreamRefused('replica_limit');
      throw EventStreamError.replicaLimit();
    }
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.env.EVENTS_STREAM_MAX_PER_USER) {
      this.metrics.eventStreamRefused('user_limit');
      throw EventStreamError.userLimit(this.env.EVENTS_STREAM_MAX_PER_USER);
    }
    this.perUser.set(userId, mine + 1);
    this.reserved++;
  }

  release(userId: string): void {
    const mine = (this.perUser.get(userId) ?? 1) - 1;
    if (mine <= 0) this.perUser.delete(userId);
    else this.perUser.set(userId, mine);
    this.reserved = Math.max(0, this.reserved - 1);
  }

  /** The `stream_seq` of event `id` in the lab's stream, or undefined (RLS: another lab's is not found). */
  async resumePoint(labId: string, id: string): Promise<number | undefined> {
    const r = await this.db.read(labId, (db) =>
      db.rows<{ stream_seq: string }>(
        `SELECT stream_seq FROM case_outbox WHERE id = $1 AND stream_seq IS NOT NULL`,
        [id],
      ),
    );
    return r.length > 0 ? Number(r[0].stream_seq) : undefined;
  }

  /** The lab's last `stream_seq` ("now": a stream without Last-Event-ID starts after it). */
  async labHead(labId: string): Promise<number> {
    const r = await this.db.read(labId, (db) =>
      db.rows<{ head: string }>(
        `SELECT coalesce(max(stream_seq), 0) AS head FROM case_outbox WHERE stream_seq IS NOT NULL`,
      ),
    );
    return Number(r[0].head);
  }

  /** A page of the lab's stream in (after, upTo], for a stream's catch-up (RLS). */
  async catchUpPage(labId: string, after: number, upTo: number): Promise<StreamEvent[]> {
    const r = await this.db.read(labId, (db) =>
      db.rows<Row>(
        `SELECT ${COLUMNS} FROM case_outbox
          WHERE stream_seq > $1 AND stream_seq <= $2 ORDER BY stream_seq LIMIT ${POLL_BATCH}`,
        [after, upTo],
      ),
    );
    return r.map(toEvent);
  }

  /** A stream (with its place reserved) asks to be fed; the poller admits it between two reads. */
  join(stream: EventStream): void {
    if (stream.closed) return this.release(stream.userId);
    this.all.add(stream);
    this.metrics.setEventStreamsOpen(this.all.size);
    this.joining.push(stream);
    this.kick();
  }

  /** A stream ended: it leaves the fan-out and gives its place back. */
  leave(stream: EventStream): void {
    if (!this.all.delete(stream)) return;
    this.metrics.setEventStreamsOpen(this.all.size);
    this.release(stream.userId);
    const set = this.labs.get(stream.labId);
    if (set) {
      set.delete(stream);
      if (set.size === 0) this.labs.delete(stream.labId);
    }
  }

  /**
   * Ends every stream (graceful shutdown: the server can close without
   * waiting for them; clients resume elsewhere with Last-Event-ID) and
   * refuses new ones.
   */
  endAll(): void {
    this.closing = true;
    for (const s of [...this.all]) s.close('shutdown');
  }

  async onApplicationShutdown(): Promise<void> {
    this.endAll();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Run the poller now if it is idle or waiting (a new stream should not wait a whole interval). */
  private kick(): void {
    if (this.running || this.closing) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.tick().finally(() => {
      this.running = undefined;
      this.scheduleNext();
    });
  }

  private scheduleNext(): void {
    if (this.closing) return;
    if (this.all.size === 0) {
      // Idle: no poller, and the next start begins at the head again.
      this.cursor = undefined;
      return;
    }
    const wait = this.joining.length > 0 ? 0 : this.failing ? 2000 : this.env.EVENTS_STREAM_POLL_MS;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, wait);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (this.cursor === undefined) {
        const r = await this.ds.query<Array<{ head: string }>>(
          `SELECT lhcms_outbox_stream_head() AS head`,
        );
        this.cursor = Number(r[0].head);
      }
      // Joiners are admitted here, between two reads: the events up to the cursor are theirs to
      // read (catch-up), every later one of their lab comes from the fan-out.
      for (const s of this.joining.splice(0)) {
        if (s.closed) continue;
        let set = this.labs.get(s.labId);
        if (!set) this.labs.set(s.labId, (set = new Set()));
        set.add(s);
        s.startCatchUp(this.cursor);
      }
      let n: number;
      do {
        const labs = [...this.labs.keys()];
        if (labs.length === 0) return;
        const rows = await this.ds.query<Row[]>(
          `SELECT * FROM lhcms_outbox_stream_read($1, $2::varchar[], $3)`,
          [this.cursor, labs, POLL_BATCH],
        );
        n = rows.length;
        for (const row of rows) {
          const e = toEvent(row);
          this.cursor = e.stream_seq;
          const set = this.labs.get(e.lab_id);
          if (!set) continue;
          const frame = frameOf(e);
          for (const s of [...set]) s.deliver(e, frame);
        }
      } while (n === POLL_BATCH && !this.closing);
      if (this.failing) this.log.log('event stream poller recovered');
      this.failing = false;
    } catch (err) {
      // No event content in the log: the error's class and message only.
      if (!this.failing) {
        this.log.error(
          `event stream poller failed: ${(err as Error).name}: ${(err as Error).message}`,
        );
      }
      this.failing = true;
    }
  }
}

/** The SSE frame of an event: its id, its type as the SSE event name, the envelope as data. */
export function frameOf(e: StreamEvent): string {
  const envelope: OutboxEvent = {
    id: e.id,
    type: e.type,
    lab_id: e.lab_id,
    case_id: e.case_id,
    case_number: e.case_number,
    seq: e.seq,
    occurred_at: e.occurred_at,
    payload: e.payload,
  };
  // JSON.stringify escapes line breaks inside strings: the data is one line.
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(envelope)}\n\n`;
}
