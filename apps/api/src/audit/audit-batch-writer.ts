import { type AuditRecord, insertStatement } from './audit-event';

/** Runs one autocommit statement on a pooled connection (its own short transaction). */
export type RunStatement = (statement: ReturnType<typeof insertStatement>) => Promise<void>;

export interface BatchWriterOptions {
  /** Largest batch: the rows of one INSERT. */
  maxBatch: number;
  /** How long an event may wait for company while a batch is already in flight. */
  lingerMs: number;
  /** Batches written at once (each on its own pooled connection). */
  maxInFlight: number;
}

interface Pending {
  record: AuditRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of audit events (docs/hipaa.md, "When a row is written").
 * Concurrent `write()` calls are gathered into one INSERT, run in
 * its own transaction on a pooled connection; every caller is released only
 * after its batch has committed (or is rejected with the batch's error).
 * Nothing is fire-and-forget.
 *
 * Batching: an idle writer flushes on the next turn of the event loop (what
 * arrived in the same tick shares the batch, no added latency); while
 * `maxInFlight` batches are being written, new events wait at most
 * `lingerMs`, or until `maxBatch` of them are queued.
 */
export class AuditBatchWriter {
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly run: RunStatement,
    private readonly options: BatchWriterOptions,
    private readonly onBatch: (
      records: readonly AuditRecord[],
      seconds: number,
      err?: unknown,
    ) => void = () => undefined,
  ) {}

  /** Resolves once the event's batch has committed. */
  write(record: AuditRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.schedule();
    });
  }

  /** Events waiting or being written. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private schedule(): void {
    if (this.queue.length === 0) return;
    if (this.inFlight >= this.options.maxInFlight) return; // a finishing batch reschedules
    if (this.queue.length >= this.options.maxBatch) {
      this.flushNow();
      return;
    }
    if (this.timer || this.immediate) return;
    if (this.inFlight === 0) {
      this.immediate = setImmediate(() => this.flushNow());
    } else {
      this.timer = setTimeout(() => this.flushNow(), this.options.lingerMs);
    }
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.inFlight++;
    void this.writeBatch(batch).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
      else if (this.inFlight === 0) {
        for (const done of this.idle) done();
        this.idle.clear();
      }
    });
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    const records = batch.map((p) => p.record);
    try {
      await this.run(insertStatement(records));
    } catch (err) {
      if (batch.length > 1 && isRowError(err)) {
        // One row the database refuses must not take its batch-mates down with it:
        // each is written on its own, and only the refused one fails.
        for (const p of batch) await this.writeBatch([p]);
        return;
      }
      this.failed(batch, records, started, err);
      return;
    }
    this.committed(batch, records, started);
  }

  private committed(batch: Pending[], records: AuditRecord[], started: number): void {
    try {
      this.onBatch(records, (performance.now() - started) / 1000);
    } catch {
      // Shipping and metrics never fail a batch that has committed.
    }
    for (const p of batch) p.resolve();
  }

  private failed(batch: Pending[], records: AuditRecord[], started: number, err: unknown): void {
    try {
      this.onBatch(records, (performance.now() - started) / 1000, err);
    } catch {
      /* the callers get the batch's error */
    }
    for (const p of batch) p.reject(err);
  }
}

/**
 * A failure caused by a row's values (SQLSTATE class 22, data exception, or
 * 23, integrity constraint violation), as opposed to the connection or the
 * database being unavailable, which fails every row alike.
 */
function isRowError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
