import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Env } from '@lhcms/config';

/**
 * Where the process is in its life: booted (startup probe) and shutting down
 * (readiness 503, `Connection: close` on responses).
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

  constructor(private readonly env: Env) {}

  get bootFinished(): boolean {
    return this.booted;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  onApplicationBootstrap(): void {
    this.booted = true;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.stopping = true;
    const delay = this.env.SHUTDOWN_DELAY_MS;
    if (signal === 'SIGTERM' && delay > 0) {
      this.logger.log(`readiness is 503; serving ${delay} ms more before closing the server`);
      await sleep(delay);
    }
  }
}
