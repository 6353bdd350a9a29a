import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Env } from '@lhcms/config';
import { requestIdFrom } from '@lhcms/request-context';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AuditService } from './audit/audit.service';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter';
import { RouteTable } from './common/http/route-table';
import { buildOpenApi, mountOpenApi, OPENAPI_PATHS } from './common/openapi/openapi';

export type RawWithRoute = IncomingMessage & { routeTemplate?: string };

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function unsupportedMediaType(): Error {
  return Object.assign(new Error('Request body must be JSON'), {
    code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    statusCode: 415,
  });
}

/**
 * Builds the API application (not listening). Used by main.ts and by the e2e
 * tests, so both run exactly the same wiring.
 */
export async function createApp(env: Env): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: env.BODY_LIMIT_BYTES,
    keepAliveTimeout: env.KEEP_ALIVE_TIMEOUT_MS,
    // Node's headersTimeout through Fastify's http options.
    http: { headersTimeout: env.HEADERS_TIMEOUT_MS },
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => requestIdFrom(req.headers),
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: env.TRUSTED_PROXIES.length > 0 ? env.TRUSTED_PROXIES : false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(env), adapter, {
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();

  const routes = new RouteTable();
  fastify.addHook('onRoute', (r) => routes.add(r.method, r.url));
  app.useGlobalFilters(new AllExceptionsFilter(routes, app.get(AuditService)));

  // JSON only: a text/plain body is 415, not a string handed to validation.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // The route template for logs and metrics (never the raw path: ids and cardinality).
    (req.raw as RawWithRoute).routeTemplate = req.routeOptions.url ?? 'unmatched';
  });
  fastify.addHook('preValidation', async (req) => {
    // The original answered 415 to a body-less POST/PUT/PATCH; a missing body is not "{}".
    if (
      BODY_METHODS.has(req.method) &&
      req.routeOptions.url?.startsWith('/api/') &&
      !req.headers['content-type']
    ) {
      throw unsupportedMediaType();
    }
  });

  const doc = buildOpenApi(app, '1.0');
  mountOpenApi(app, doc);
  fastify.get(OPENAPI_PATHS[1], async () => doc);
  return app;
}
