import type { ServerResponse } from 'node:http';
import type { EventStreamClose, MetricsService } from '../../metrics';
import { frameOf, type StreamEvent } from './event-stream.hub';

/**
 * Bytes a stream may have waiting in its socket's buffer (a client that
 * reads slower than its lab's events arrive); past it the stream is closed
 * and the client resumes with Last-Event-ID.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** The catch-up waits for the socket to drain past this many buffered bytes. */
const PACE_BYTES = 64 * 1024;
/** Live events a stream may hold while it writes its catch-up; past it, closed the same way. */
export const MAX_HELD_EVENTS = 5000;
/** The reconnection delay the stream suggests to EventSource (`retry:`), ms. */
export const RETRY_HINT_MS = 3000;

export interface EventStreamSource {
  catchUpPage(labId: string, after: number, upTo: number): Promise<StreamEvent[]>;
  leave(stream: EventStream): void;
}

export interface EventStreamOptions {
  labId: string;
  userId: string;
  /** The event types the caller wants (undefined: all). */
  types?: ReadonlySet<string>;
  /** The last `stream_seq` the client has (from Last-Event-ID), or its lab's head ("now"). */
  start: number;
  heartbeatMs: number;
  /** When the caller's token expires (epoch ms): the stream ends then. */
  expiresAtMs: number;
  res: ServerResponse;
  source: EventStreamSource;
  metrics: MetricsService;
}

/**
 * One open SSE response. Written to by its own catch-up and by the
 * replica's poller (EventStreamHub.deliver); ends on the client's going
 * away, the token's expiry, shutdown, a fault, or falling too far behind —
 * with every timer and listener removed.
 */
export class EventStream {
  readonly labId: string;
  readonly userId: string;
  private readonly types?: ReadonlySet<string>;
  private readonly res: ServerResponse;
  private readonly source: EventStreamSource;
  private readonly metrics: MetricsService;
  /** The last stream_seq written (or skipped by the type filter): nothing at or below it is written again. */
  private last: number;
  /** Live events that arrived during the catch-up; undefined once it is written. */
  private held: Array<{ e: StreamEvent; frame: string }> | undefined = [];
  private readonly heartbeat: NodeJS.Timeout;
  private readonly expiry: NodeJS.Timeout;
  private readonly onClose = () => this.close('client');
  closed = false;

  constructor(o: EventStreamOptions) {
    this.labId = o.labId;
    this.userId = o.userId;
    this.types = o.types;
    this.res = o.res;
    this.source = o.source;
    this.metrics = o.metrics;
    this.last = o.start;
    this.heartbeat = setInterval(() => this.write(': heartbeat\n\n'), o.heartbeatMs);
    // setTimeout's limit is ~24.8 days; a token lives far shorter.
    const left = Math.min(Math.max(o.expiresAtMs - Date.now(), 0), 2 ** 31 - 1);
    this.expiry = setTimeout(() => this.close('token_expired'), left);
    this.res.once('close', this.onClose);
    this.write(`retry: ${RETRY_HINT_MS}\n: stream open\n\n`);
  }

  /**
   * The poller admitted this stream with its cursor at `joinAt`: write the
   * lab's events in (start, joinAt] (pages, under RLS), then the live ones
   * held meanwhile.
   */
  startCatchUp(joinAt: number): void {
    void this.catchUp(joinAt).catch(() => this.close('error'));
  }

  private async catchUp(joinAt: number): Promise<void> {
    let after = this.last;
    while (!this.closed && after < joinAt) {
      const page = await this.source.catchUpPage(this.labId, after, joinAt);
      if (page.length === 0) break;
      for (const e of page) {
        // The catch-up sets its own pace: it waits for the client rather than buffer for it.
        await this.paced();
        this.send(e, frameOf(e), 'catch_up');
      }
      after = page[page.length - 1].stream_seq;
    }
    // Then the live events held meanwhile (more may arrive while these are written).
    while (!this.closed && this.held && this.held.length > 0) {
      const h = this.held.shift()!;
      await this.paced();
      this.send(h.e, h.frame, 'live');
    }
    this.held = undefined;
  }

  private async paced(): Promise<void> {
    if (!this.closed && this.res.writableLength > PACE_BYTES) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  /** An event of this stream's lab from the poller. */
  deliver(e: StreamEvent, frame: string): void {
    if (this.closed) return;
    if (this.held) {
      if (this.held.length >= MAX_HELD_EVENTS) return this.close('too_slow');
      this.held.push({ e, frame });
      return;
    }
    this.send(e, frame, 'live');
  }

  private send(e: StreamEvent, frame: string, phase: 'catch_up' | 'live'): void {
    if (this.closed || e.stream_seq <= this.last) return;
    this.last = e.stream_seq;
    if (this.types && !this.types.has(e.type)) return;
    if (this.write(frame)) this.metrics.eventStreamSent(phase);
  }

  private write(chunk: string): boolean {
    if (this.closed) return false;
    this.res.write(chunk);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.close('too_slow');
      return false;
    }
    return true;
  }

  /** Ends the stream (idempotent). */
  close(reason: EventStreamClose): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.expiry);
    this.res.off('close', this.onClose);
    this.held = undefined;
    this.source.leave(this);
    this.metrics.eventStreamClosed(reason);
    if (reason === 'too_slow' || reason === 'client' || this.res.destroyed) {
      // Nothing more reaches a client that went away or cannot keep up: drop what is buffered.
      this.res.destroy();
    } else {
      this.res.end(`: stream closed (${reason})\n\n`);
    }
  }
}
