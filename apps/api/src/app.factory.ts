import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Env } from '@lhcms/config';
import type { LoggingOptions } from '@lhcms/logging';
import { installRequestContext, requestIdFrom } from '@lhcms/request-context';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AuditService } from './audit';
import { EventStreamHub } from './events';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { RouteTable } from './common/http/route-table';
import fastifyMultipart from '@fastify/multipart';
import {
  installJsonBodyParser,
  isJsonContentType,
  MULTIPART_MEDIA_TYPE,
  takesJsonBody,
  takesMultipart,
} from './common/http/json-body';
import { ValidationFailedError } from './common/errors/domain-error';
import { errorBody } from './common/errors/error-body';
import {
  buildOpenApi,
  declaredFieldNames,
  mountOpenApi,
  OPENAPI_PATHS,
} from './common/openapi/openapi';
import { unacceptableValues } from './common/validation/storable-text';
import { ShutdownState } from './health';
import { installHttpObservability } from './http';
import { MetricsService } from './metrics';
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, NO_STORE, SECURITY_HEADERS } from './security';

export { type RawWithRoute } from '@lhcms/request-context';

/** What tests may add to the real wiring (never used by main.ts). */
export interface CreateAppOptions {
  /** Extra modules, e.g. a test-only controller. */
  imports?: Array<Type | DynamicModule>;
  /**
   * Where log lines go instead of stdout. nestjs-pino builds one root logger
   * per process: only the first app created in a process gets to choose.
   */
  logging?: LoggingOptions;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const REFERENCE_DATA_PATHS = /^\/api\/v1\/cases\/(types|shades|materials)\/?(\?|$)/;

/**
 * Errors the router answers before any hook or filter runs: a path parameter
 * over the router's 100 characters (414) and a malformed URL (400). Fastify's
 * own answer echoes the path and has no request id; this one is the one error
 * shape and never repeats the path.
 */
const ROUTER_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: 'A path parameter is too long' },
  FST_ERR_BAD_URL: { status: 400, message: 'Malformed URL' },
};

function frameworkErrors(err: { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  const known = err.code ? ROUTER_ERRORS[err.code] : undefined;
  const { status, message } = known ?? { status: 500, message: 'Internal server error' };
  void reply
    .status(status)
    .headers({
      ...SECURITY_HEADERS,
      'cache-control': NO_STORE,
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': String(req.id),
    })
    .send(errorBody(status, message, String(req.id)));
}

function unsupportedMediaType(): Error {
  return Object.assign(new Error('Request body must be JSON'), {
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    statusCode: 415,
  });
}

function unsupportedMultipart(): Error {
  return Object.assign(new Error('Request body must be multipart/form-data'), {
    code: 'LHCMS_MULTIPART_REQUIRED',
    statusCode: 415,
  });
}

/**
 * Builds the API application (not listening). Used by main.ts and by the e2e
 * tests, so both run exactly the same wiring.
 */
export async function createApp(
  env: Env,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: env.BODY_LIMIT_BYTES,
    keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_MS,
    // A request that arrives on an open connection after the server stopped accepting is still
    // served (the pools close after the last one), with `Connection: close` — not Fastify's 503
    // outside the one error shape.
    return503OnClosing: false,
    // Node's headersTimeout through Fastify's http options.
    http: { headersTimeout: env.HEADERS_TIMEOUT_MS },
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers),
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: env.TRUSTED_PROXIES.length > 0 ? env.TRUSTED_PROXIES : false,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(env, options),
    adapter,
    // The body parser is installJsonBodyParser's (JSON only, nesting bounded), not Nest's JSON + form.
    { bufferLogs: true, abortOnError: false, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();
  // After create: Nest has mounted nestjs-cls's middleware, so these hooks run in the context.
  installRequestContext(fastify);
  installHttpObservability(fastify, {
    metrics: app.get(MetricsService),
    logger: PinoLogger.root,
    shutdown: app.get(ShutdownState),
  });

  // The live feed's streams end before the server waits for in-flight requests (ADR 0007's drain).
  const hub = app.get(EventStreamHub);
  app.get(ShutdownState).onServerClosing(() => hub.endAll());

  const routes = new RouteTable();
  fastify.addHook('onRoute', (r) => routes.add(r.method, r.url));
  app.useGlobalFilters(new AllExceptionsFilter(routes, app.get(AuditService)));

  // CORS from an allowlist only (the original allowed `*`; production refuses it).
  const origins = new Set(env.CORS_ORIGINS);
  app.enableCors({
    origin: (origin: string | undefined, cb: (err: Error | null, allow: boolean) => void) =>
      cb(null, origin !== undefined && (origins.has('*') || origins.has(origin))),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  });
  fastify.addHook('onSend', async (req, reply) => {
    void reply.headers(SECURITY_HEADERS);
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) {
      void reply.header(
        'cache-control',
        REFERENCE_DATA_PATHS.test(req.url) ? 'public, max-age=3600' : NO_STORE,
      );
    }
  });

  // JSON only: any other body (text/plain, form-urlencoded, multipart) is 415, and a body nested
  // deeper than JSON_MAX_DEPTH is 400 before anything parses it.
  installJsonBodyParser(fastify, env.JSON_MAX_DEPTH);
  // Multipart is parsed lazily (as a stream, by the route: attachment uploads) and accepted only by
  // routes that say so (preValidation below); everywhere else it stays a 415.
  await app.register(fastifyMultipart, {
    limits: { fileSize: env.ATTACHMENT_MAX_BYTES, files: 1, fields: 4, parts: 6, fieldSize: 1024 },
  });
  let fieldNames: ReadonlySet<string> = new Set();
  fastify.addHook('preValidation', async (req) => {
    // The original answered 415 to a body-less POST/PUT/PATCH; a missing body is not "{}", and a
    // non-JSON content type is refused even when the body is empty.
    const config = req.routeOptions.config;
    if (
      (BODY_METHODS.has(req.method) || takesJsonBody(config)) &&
      req.routeOptions.url?.startsWith('/api/')
    ) {
      const type = req.headers['content-type'];
      if (takesMultipart(config)) {
        if (type === undefined || !MULTIPART_MEDIA_TYPE.test(type)) throw unsupportedMultipart();
      } else if (!isJsonContentType(type)) {
        throw unsupportedMediaType();
      }
    }
    // Text the database cannot store (NUL, unpaired surrogates) and numbers that are not finite
    // are a client mistake: 400, not a database error. Query and path parameters by name, the body
    // by dotted path, naming declared fields only.
    const bad = unacceptableValues(req.query, '', {}, fieldNames);
    unacceptableValues(req.params, '', bad, fieldNames);
    unacceptableValues(req.body, '', bad, fieldNames);
    if (Object.keys(bad).length > 0) throw new ValidationFailedError(bad);
  });

  const doc = buildOpenApi(app, '1.0');
  fieldNames = declaredFieldNames(doc);
  mountOpenApi(app, doc);
  fastify.get(OPENAPI_PATHS[1], async () => doc);
  return app;
}
