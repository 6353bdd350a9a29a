import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Env } from '@lhcms/config';
import { auditKeys } from './audit-keys';
import { AUDIT_OBSERVER, type AuditObserver } from './audit-observer';
import { chainHead, chainId, sealingBacklog, sealOnce } from './chain-sealer';
import { CheckpointStore } from './checkpoints';
import { AuditConnections } from './audit-connections';
import { poolSql, type SqlDb } from './sql';

/**
 * Runs the sealer in the API process, every AUDIT_SEAL_INTERVAL_MS, as the
 * application role (it only INSERTs chain entries), and writes a signed
 * checkpoint every AUDIT_CHECKPOINT_INTERVAL_S when the chain grew. With
 * several replicas, one seals at a time (advisory lock); the others skip.
 * The sealing lag goes to the observer (metrics).
 */
@Injectable()
export class AuditSealer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('AuditSealer');
  private readonly db: SqlDb;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastCheckpointAt = 0;
  private store: CheckpointStore | undefined;
  private failing = false;

  constructor(
    @Inject(Env) private readonly env: Env,
    connections: AuditConnections,
    @Inject(AUDIT_OBSERVER) private readonly observer: AuditObserver,
  ) {
    // Lazily: the audit connections open on the first round.
    this.db = {
      query: (text, params) => poolSql(connections.get()).query(text, params),
      transaction: (fn) => poolSql(connections.get()).transaction(fn),
    };
  }

  onApplicationBootstrap(): void {
    if (!this.env.HIPAA_AUDIT_ENABLED || this.env.AUDIT_SEAL_INTERVAL_MS === 0) return;
    this.timer = setInterval(() => void this.tick(), this.env.AUDIT_SEAL_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One round now (seal everything sealable), then a checkpoint when `checkpoint` or due. */
  async sealNow(checkpoint = false): Promise<{ sealed: number; position: number }> {
    const key = auditKeys(this.env).chain;
    let sealed = 0;
    for (;;) {
      const r = await sealOnce(this.db, key);
      sealed += r.sealed;
      if (!r.more) break;
    }
    const head = await chainHead(this.db);
    const backlog = await sealingBacklog(this.db, head);
    this.observer.setAuditSealing(backlog.lagSeconds, backlog.unsealed);
    const due = Date.now() - this.lastCheckpointAt >= this.env.AUDIT_CHECKPOINT_INTERVAL_S * 1000;
    if (head && (checkpoint || due)) {
      this.store ??= new CheckpointStore(this.env.auditCheckpointDir, await chainId(this.db), key);
      this.store.write({ position: head.position, seq: head.seq, hash: head.row_hash });
      this.lastCheckpointAt = Date.now();
    }
    return { sealed, position: head?.position ?? 0 };
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.sealNow()
      .then(() => {
        if (this.failing) this.log.log('audit sealing rounds succeed again');
        this.failing = false;
      })
      .catch((err: unknown) => {
        // Once per run of failures (a database outage fails every round; the backlog gauge shows it).
        if (!this.failing) {
          const code = (err as { code?: unknown }).code;
          this.log.warn(
            { code: typeof code === 'string' ? code : undefined },
            'audit sealing round failed; retrying every interval',
          );
        }
        this.failing = true;
      })
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
  }
}
