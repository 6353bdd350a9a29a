import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Env } from '@lhcms/config';
import { RequestContext } from '@lhcms/request-context';
import { ValidationFailedError } from '../../common/errors/domain-error';
import { LONG_LIVED_ROUTE_CONFIG } from '../../common/http/long-lived';
import { ApiErrors } from '../../common/openapi/api-docs.decorators';
import { MetricsService } from '../../metrics';
import { SECURITY_HEADERS } from '../../security';
import { Permission, RequirePermission } from '../../ums-gateway';
import { isOutboxEventType, OUTBOX_EVENT_TYPE_NAMES } from '../event-types';
import { EventStream } from './event-stream';
import { EventStreamError } from './event-stream.errors';
import { EventStreamHub } from './event-stream.hub';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Headers of the stream besides the ones every answer carries (security, CORS, request id). */
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  // No proxy buffering (nginx honours it): each frame must leave at once.
  'x-accel-buffering': 'no',
};

interface StreamQuery {
  types?: ReadonlySet<string>;
  lastEventId?: string;
}

function one(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : '\u0000'; // repeated → invalid below
}

/** `?types=` and the resume point (Last-Event-ID header or `?last_event_id=`): 400 for anything malformed. */
export function parseStreamQuery(
  query: Record<string, unknown>,
  header: string | string[] | undefined,
): StreamQuery {
  const errors: Record<string, string> = {};
  const out: StreamQuery = {};
  const types = one(query.types);
  if (types !== undefined) {
    const list = types.split(',').map((t) => t.trim());
    if (list.length === 0 || list.some((t) => !isOutboxEventType(t))) {
      errors.types = `must be a comma-separated list of: ${OUTBOX_EVENT_TYPE_NAMES.join(', ')}`;
    } else {
      out.types = new Set(list);
    }
  }
  const fromHeader = Array.isArray(header) ? '\u0000' : header?.trim();
  const fromQuery = one(query.last_event_id)?.trim();
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) {
    errors.last_event_id = 'differs from the Last-Event-ID header: give one';
  } else {
    const id = fromHeader ?? fromQuery;
    if (id !== undefined && id !== '') {
      if (!UUID.test(id)) errors.last_event_id = 'must be an event id (a UUID)';
      else out.lastEventId = id.toLowerCase();
    }
  }
  if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
  return out;
}

/**
 * The live feed (issue 17; docs/events.md, "The live feed (SSE)"): the
 * caller's lab's case events as Server-Sent Events, resumable with
 * Last-Event-ID, fed by the replica's one poller (EventStreamHub).
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/v1/events')
export class EventStreamController {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly hub: EventStreamHub,
    private readonly context: RequestContext,
    private readonly metrics: MetricsService,
  ) {}

  @Get('stream')
  @RequirePermission(Permission.CaseRead)
  @RouteConfig({ [LONG_LIVED_ROUTE_CONFIG]: true })
  @ApiOperation({
    summary: "Live feed of your lab's case events (Server-Sent Events)",
    description:
      'Each event as an SSE frame: `id:` the event id, `event:` its type, `data:` the event (the envelope and non-PHI payload of docs/events.md). Starts now, or after the event named by Last-Event-ID (the events missed since, in order, once each). A comment line every EVENTS_STREAM_HEARTBEAT_SECONDS; ends when the token expires, on shutdown, or when the client falls too far behind (resume with Last-Event-ID).',
  })
  @ApiHeader({ name: 'X-Lab-Id', required: false, description: 'The lab whose events to stream.' })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event (its id, a UUID).',
  })
  @ApiQuery({
    name: 'last_event_id',
    required: false,
    schema: { type: 'string', format: 'uuid' },
    description: 'The same as Last-Event-ID, for clients that cannot set headers.',
  })
  @ApiQuery({
    name: 'types',
    required: false,
    schema: { type: 'string' },
    description: `Only these event types, comma-separated (${OUTBOX_EVENT_TYPE_NAMES.join(', ')}).`,
  })
  @ApiResponse({
    status: 200,
    description: 'The stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiResponse({
    status: 410,
    description:
      "Last-Event-ID is not an event of your lab's stream (pruned, unknown, or not yours): reload, then open the stream without it",
    schema: { $ref: '#/components/schemas/Error' },
  })
  @ApiErrors(400, 401, 403, 429, 503)
  async stream(
    @Query() query: Record<string, unknown>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    let q: StreamQuery;
    try {
      q = parseStreamQuery(query, req.headers['last-event-id']);
    } catch (err) {
      this.metrics.eventStreamRefused('bad_request');
      throw err;
    }
    // HEAD (Fastify answers it with the GET route): the headers only, no stream held open.
    if (req.method === 'HEAD') {
      void reply.status(200).headers(SSE_HEADERS).send();
      return;
    }
    const principal = this.context.principal;
    const labId = this.context.lab.labId;
    this.hub.reserve(principal.userId);
    let start: number | undefined;
    try {
      start = q.lastEventId
        ? await this.hub.resumePoint(labId, q.lastEventId)
        : await this.hub.labHead(labId);
      if (start === undefined) {
        this.metrics.eventStreamRefused('resume_unavailable');
        throw EventStreamError.resumeUnavailable();
      }
    } catch (err) {
      this.hub.release(principal.userId);
      throw err;
    }
    // From here the response is ours: Fastify's onSend hooks do not run, so the headers
    // they and the onRequest hooks set (security, CORS, request id) are copied over.
    reply.hijack();
    const res = reply.raw;
    let stream: EventStream;
    try {
      res.writeHead(200, {
        ...reply.getHeaders(),
        ...SECURITY_HEADERS,
        ...SSE_HEADERS,
      } as Record<string, string>);
      res.socket?.setNoDelay(true);
      stream = new EventStream({
        labId,
        userId: principal.userId,
        types: q.types,
        start,
        heartbeatMs: this.env.EVENTS_STREAM_HEARTBEAT_SECONDS * 1000,
        expiresAtMs: principal.expiresAt * 1000,
        res,
        source: this.hub,
        metrics: this.metrics,
      });
    } catch {
      // The response is ours (hijacked) and nothing was handed to the hub: give the place back
      // and drop the connection (the client reconnects).
      this.hub.release(principal.userId);
      res.destroy();
      return;
    }
    this.hub.join(stream);
    // A client gone before its stream was set up: its 'close' has been emitted already.
    if (res.destroyed) stream.close('client');
  }
}
