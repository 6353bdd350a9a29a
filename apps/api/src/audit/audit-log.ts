import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { PHI_FIELDS } from '@lhcms/logging';
import pino, { type Logger } from 'pino';
import type { AuditRecord } from './audit-event';

/** A committed audit event as it is shipped: the row plus its seq. */
export type ShippedAuditEvent = AuditRecord & { seq: string | null };

/** The pino destination of AUDIT_LOG_DESTINATION: stdout, stderr or a file (appended). */
export function auditDestination(where: string): pino.DestinationStream {
  // Asynchronous writes (flushed at shutdown and exit): the database row is the record, this
  // stream is its copy for the SIEM, and a synchronous write per event cost a tenth of a request.
  if (where === 'stdout') return pino.destination({ dest: 1, sync: false });
  if (where === 'stderr') return pino.destination({ dest: 2, sync: false });
  mkdirSync(dirname(where), { recursive: true });
  return pino.destination({ dest: where, sync: false, append: true });
}

/**
 * The dedicated audit log stream (design/hipaa.md, "Shipping"): one JSON
 * line per committed audit event, `"log":"audit"`, for SIEM/ELK. A separate
 * pino logger and destination from the application logs, never silenced by
 * LOG_LEVEL. Lines carry what the row carries (no PHI by construction) and
 * the PHI field names are redacted as a second guard.
 */
@Injectable()
export class AuditLog implements OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly destination: pino.DestinationStream;

  constructor(@Inject(Env) env: Env) {
    this.destination = auditDestination(env.AUDIT_LOG_DESTINATION);
    this.logger = pino(
      {
        level: 'info',
        base: { log: 'audit', service: 'lhcms' },
        messageKey: 'msg',
        // Lines are built from the audit row (no PHI by construction, flat): a second guard on
        // the top-level keys, without the deep wildcard paths of the application logger.
        redact: { paths: [...PHI_FIELDS], censor: '[REDACTED]' },
        timestamp: () => `,"time":"${new Date().toISOString()}"`,
        formatters: { level: (label: string) => ({ level: label }) },
      },
      this.destination,
    );
  }

  ship(events: readonly ShippedAuditEvent[]): void {
    for (const e of events) {
      this.logger.info(
        { ...e, occurred_at: e.occurred_at.toISOString() },
        `audit ${e.interaction} ${e.outcome}`,
      );
    }
  }

  onApplicationShutdown(): void {
    const d = this.destination as { flushSync?: () => void };
    try {
      d.flushSync?.();
    } catch {
      /* nothing buffered */
    }
  }
}
