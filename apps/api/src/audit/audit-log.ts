import { fstatSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { PIPE_SAFE_WRITE } from '@lhcms/logging';
import pino from 'pino';
import { AUDIT_COLUMNS, type AuditRecord } from './audit-event';

/** A committed audit event as it is shipped: the row plus its seq (when known). */
export type ShippedAuditEvent = AuditRecord & { seq?: string | null };

/** The pino destination of AUDIT_LOG_DESTINATION: stdout, stderr or a file (appended). */
export function auditDestination(where: string): pino.DestinationStream {
  // Asynchronous writes (flushed at shutdown and exit): the database row is the record, this
  // stream is its copy for the SIEM, and a synchronous write per event cost a tenth of a request.
  let fd: number;
  if (where === 'stdout') fd = 1;
  else if (where === 'stderr') fd = 2;
  else {
    mkdirSync(dirname(where), { recursive: true });
    // Opened here, synchronously: a path would be opened in the background, and a shutdown
    // within that moment found the stream not ready and could not flush what was shipped.
    fd = openSync(where, 'a');
  }
  // Into a pipe (a container's stdout, shared with the application logs) or a socket: whole lines
  // in writes of at most PIPE_BUF, the most a pipe writes atomically (PIPE_SAFE_WRITE).
  return pino.destination({
    dest: fd,
    sync: false,
    ...(isPipe(fd) ? { maxWrite: PIPE_SAFE_WRITE } : {}),
  });
}

function isPipe(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isSocket();
  } catch {
    return true;
  }
}

/**
 * One audit line (JSON, no newline): the stream's fields, then the row's
 * columns — AUDIT_COLUMNS only, whatever else the object carries — its seq
 * and a message. None of AUDIT_COLUMNS is a PHI field (a unit test holds
 * that), so no PHI can reach the line by its key.
 */
export function auditLine(e: ShippedAuditEvent, time: string): string {
  const line: Record<string, unknown> = { level: 'info', time, log: 'audit', service: 'lhcms' };
  for (const c of AUDIT_COLUMNS) line[c] = e[c];
  line.occurred_at = e.occurred_at.toISOString();
  line.seq = e.seq ?? null;
  line.msg = `audit ${e.interaction} ${e.outcome}`;
  return JSON.stringify(line);
}

/**
 * The dedicated audit log stream (docs/hipaa.md): one JSON
 * line per committed audit event, `"log":"audit"`, for SIEM/ELK. Its own
 * destination, apart from the application logs and never silenced by
 * LOG_LEVEL. The lines of a batch are built with one JSON.stringify each and
 * handed to the destination together, which writes them in as few pipe-safe
 * writes as it can: through a pino logger (with redaction of the PHI field
 * names) they cost about twice the CPU, and the keys are fixed anyway.
 */
@Injectable()
export class AuditLog implements OnApplicationShutdown {
  private readonly destination: pino.DestinationStream;

  constructor(@Inject(Env) env: Env) {
    this.destination = auditDestination(env.AUDIT_LOG_DESTINATION);
  }

  ship(events: readonly ShippedAuditEvent[]): void {
    if (events.length === 0) return;
    const time = new Date().toISOString();
    // Line by line: the destination packs them into pipe-safe writes.
    for (const e of events) this.destination.write(`${auditLine(e, time)}\n`);
  }

  /**
   * Everything shipped is in the destination before the process exits, in
   * order: the writes in flight (asynchronous, in the thread pool, which
   * process.exit does not wait for) and those they chain to are waited for,
   * up to a second, and what is still buffered then is written at once.
   */
  async onApplicationShutdown(): Promise<void> {
    const d = this.destination as pino.DestinationStream & {
      flushSync?: () => void;
      /** sonic-boom's own flag: an asynchronous write is in flight. */
      _writing?: boolean;
      once?: (event: 'write' | 'error', fn: () => void) => void;
    };
    const flush = () => {
      try {
        d.flushSync?.();
      } catch {
        /* nothing buffered, or not open */
      }
    };
    const until = Date.now() + 1000;
    while (d._writing === true && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        d.once?.('write', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    flush();
  }
}
