import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BadRequestException,
  Body,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpException,
  Injectable,
  Logger,
  Module,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject } from '@nestjs/common';
import { RequestContext } from '@lhcms/request-context';
import { Public } from '../../apps/api/src/common/http/public.decorator';
import type { Cache } from 'cache-manager';
import type { FastifyRequest } from 'fastify';
import { ClsServiceManager } from 'nestjs-cls';
import { DataSource } from 'typeorm';

/**
 * A test-only module (never part of the production app): routes that let the
 * observability tests provoke each outcome deterministically and see what
 * the request context holds in a guard, a pipe and a handler.
 */

/**
 * How many /test-only/slow requests reached the handler, and how many of them finished
 * (before sending their response): tests wait for these with `eventually()`, not a sleep.
 */
export const slowRequests = { started: 0, finished: 0 };

/** Seeded into bodies and log calls; must never reach a log line. */
export const PHI_MARKER = 'PHI-MARKER-Zq81';
/** The bearer token of the test-only guard; must never reach a log line. */
export const TEST_BEARER = 'test-only-bearer-eyJhbGciOi.SECRET-TOKEN-4411';
export const TEST_USER_ID = '7001';
export const TEST_LAB_ID = '42';
/** The message of the unexpected error of /test-only/boom: for the log, never for the client. */
export const BOOM_DETAIL = 'kaboom-internal-detail';

const seenInGuard = new WeakMap<IncomingMessage, string | undefined>();

/** Stands in for the ums-gateway's AuthGuard: 401 without the token, else a principal in the context. */
@Injectable()
class TestAuthGuard implements CanActivate {
  constructor(private readonly ctx: RequestContext) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    seenInGuard.set(req.raw, this.ctx.requestId);
    if (req.headers.authorization !== `Bearer ${TEST_BEARER}`) {
      throw new HttpException({ error: 'Unauthorized' }, 401);
    }
    this.ctx.principal = {
      userId: TEST_USER_ID,
      isSystemAdmin: false,
      memberships: [{ labId: TEST_LAB_ID, role: 'admin', active: true }],
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    };
    this.ctx.lab = { labId: TEST_LAB_ID, role: 'admin', active: true };
    return true;
  }
}

/** Records the request id the pipe sees (pipes run after body parsing). */
class ContextProbePipe implements PipeTransform {
  transform(value: unknown) {
    const cls = ClsServiceManager.getClsService();
    return { body: value, pipeRequestId: cls.isActive() ? cls.getId() : null };
  }
}

/** Public for the app's AuthGuard; /private and /context use TestAuthGuard instead. */
@Public()
@Controller('test-only')
class ObservabilityTestController {
  private readonly logger = new Logger('TestOnly');

  constructor(
    private readonly ctx: RequestContext,
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
  ) {}

  @Get('widgets/:id')
  widget(@Param('id') id: string) {
    return { id };
  }

  @Get('boom')
  boom(): never {
    throw new Error(BOOM_DETAIL);
  }

  @Get('private')
  @UseGuards(TestAuthGuard)
  private() {
    return { user: this.ctx.principal.userId };
  }

  /** Logs the worst things a developer could log: the body with PHI and the request headers. */
  @Post('context')
  @UseGuards(TestAuthGuard)
  async context(
    @Req() req: FastifyRequest,
    @Body(ContextProbePipe) probe: { body: Record<string, unknown>; pipeRequestId: string | null },
  ) {
    this.logger.log({ body: probe.body, headers: req.headers }, 'received a case');
    await sleep(5);
    const afterAwait = this.ctx.requestId;
    if (probe.body.fail) throw new BadRequestException('asked to fail');
    return {
      guard_request_id: seenInGuard.get(req.raw) ?? null,
      pipe_request_id: probe.pipeRequestId,
      handler_request_id: afterAwait ?? null,
      user_id: this.ctx.principal.userId,
    };
  }

  /** Holds the request `ms` milliseconds, then uses the database and the cache. */
  @Get('slow')
  async slow(@Query('ms') ms = '300') {
    slowRequests.started++;
    try {
      await sleep(Number(ms));
      const [{ one }] = await this.ds.query<Array<{ one: number }>>('SELECT 1 AS one');
      await this.cache.set('test-only:slow', 'ok', 5000);
      return { db: one, cache: await this.cache.get<string>('test-only:slow') };
    } finally {
      slowRequests.finished++;
    }
  }
}

@Module({ controllers: [ObservabilityTestController] })
export class ObservabilityTestModule {}
