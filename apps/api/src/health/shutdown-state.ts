import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Env } from '@lhcms/config';
import { ConnectionDrain } from './connection-drain';

/**
 * Where the process is in its life: booted (startup probe) and shutting down
 * (readiness 503, `Connection: close` on responses, idle keep-alive
 * connections closed: see ConnectionDrain).
 *
 * Nest's close sequence is: onModuleDestroy → beforeApplicationShutdown → the
 * HTTP server stops accepting and waits for in-flight requests →
 * onApplicationShutdown (database pools and the Redis connection close
 * there, last). Readiness turns 503 here, before the server stops; with
 * SHUTDOWN_DELAY_MS the server keeps serving that long first.
 */
@Injectable()
export class ShutdownState implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Shutdown');
  private booted = false;
  private stopping = false;
  /** The HTTP server's connections (tracked by installHttpObservability). */
  readonly connections = new ConnectionDrain();
  private readonly beforeClose: Array<() => void> = [];

  constructor(private readonly env: Env) {}

  get bootFinished(): boolean {
    return this.booted;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /**
   * Ends responses that never finish on their own (the live feed's streams)
   * when the server is about to close: after SHUTDOWN_DELAY_MS, so that the
   * clients reconnect once this replica is out of the endpoints, and before
   * the server waits for in-flight requests, which would otherwise be forever.
   * Wired by the composition root (app.factory.ts).
   */
  onServerClosing(end: () => void): void {
    this.beforeClose.push(end);
  }

  onApplicationBootstrap(): void {
    this.booted = true;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.stopping = true;
    // From here every response carries `Connection: close`; on a signal, idle
    // keep-alive connections close once quiet (never one with a request on the wire).
    this.connections.begin(signal !== undefined);
    const delay = this.env.SHUTDOWN_DELAY_MS;
    if (signal === 'SIGTERM' && delay > 0) {
      this.logger.log(`readiness is 503; serving ${delay} ms more before closing the server`);
      await sleep(delay);
    }
    for (const end of this.beforeClose) end();
  }
}
