import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { DatabaseConnector } from '@lhcms/database';
import { Public } from '../common/http/public.decorator';
import { appVersion } from './app-version';
import { DependencyChecks } from './dependency-checks';
import { ShutdownState } from './shutdown-state';

type Reply = FastifyReply;

/** The seed's per-dependency words in `/health`'s `checks`. */
type CheckWord = 'healthy' | 'degraded' | 'unhealthy' | 'not_configured';

/**
 * Kubernetes probes and the seed's `/health`. All public (no auth, no PHI).
 *
 * - `/health/live`: the process answers; nothing external, 200 even while
 *   draining (a liveness probe that checks the database restarts every
 *   replica on one database hiccup).
 * - `/health/ready`: whether this replica can serve: PostgreSQL; Redis (when
 *   configured) and the UMS are reported, `degraded` when down, but never
 *   fail it (every replica would leave the load balancer at once over an
 *   outage it can serve through). 503 at once when shutdown starts.
 * - `/health/startup`: boot finished and the database connected once (the
 *   process starts while PostgreSQL is down; it is not ready until then).
 * - `/health`: the seed's and the original's body, 200 or 503 like readiness.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyChecks,
    private readonly state: ShutdownState,
    private readonly database: DatabaseConnector,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): HealthCheckResult {
    const process = {
      status: 'up' as const,
      uptime_seconds: Math.round(globalThis.process.uptime()),
    };
    return { status: 'ok', info: { process }, error: {}, details: { process } };
  }

  @Get('startup')
  @HealthCheck()
  startup(@Res({ passthrough: true }) reply: Reply): HealthCheckResult {
    // Started = booted and connected to the database once (DatabaseConnector retries with backoff).
    const started = this.state.bootFinished && this.database.isConnected;
    const startup = { status: started ? ('up' as const) : ('down' as const) };
    if (!started) {
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'error', info: {}, error: { startup }, details: { startup } };
    }
    return { status: 'ok', info: { startup }, error: {}, details: { startup } };
  }

  @Get('ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) reply: Reply): Promise<HealthCheckResult> {
    if (this.state.shuttingDown) {
      void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'shutting_down', info: {}, error: {}, details: {} };
    }
    const { ok, result } = await this.readiness();
    if (!ok) void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return result;
  }

  @Get()
  @HealthCheck()
  async seed(@Res({ passthrough: true }) reply: Reply) {
    const { ok, result } = await this.readiness();
    const word = (key: string): CheckWord => {
      const d: { status?: string } | undefined = result.details[key];
      if (!d) return 'not_configured';
      if (d.status === 'degraded') return 'degraded';
      return d.status === 'up' ? 'healthy' : 'unhealthy';
    };
    const healthy = ok && !this.state.shuttingDown;
    if (!healthy) void reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return {
      status: healthy ? 'healthy' : 'unhealthy',
      service: 'case_service',
      version: appVersion(),
      timestamp: new Date().toISOString(),
      checks: { database: word('database'), redis: word('redis'), ums: word('ums') },
      ...(this.state.shuttingDown ? { shutting_down: true } : {}),
    };
  }

  /**
   * Terminus's result without its exception: the body stays the health
   * report whatever the global exception filter does with 503s.
   */
  private async readiness(): Promise<{ ok: boolean; result: HealthCheckResult }> {
    try {
      return { ok: true, result: await this.health.check(this.checks.all()) };
    } catch (err) {
      if (err instanceof ServiceUnavailableException)
        return { ok: false, result: err.getResponse() as HealthCheckResult };
      throw err;
    }
  }
}
