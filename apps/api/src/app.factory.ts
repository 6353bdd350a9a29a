import type { IncomingMessage } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Env } from '@lhcms/config';
import { requestIdFrom } from '@lhcms/request-context';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';

export type RawWithRoute = IncomingMessage & { routeTemplate?: string };

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
  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // The route template for logs and metrics (never the raw path: ids and cardinality).
    (req.raw as RawWithRoute).routeTemplate = req.routeOptions.url ?? 'unmatched';
  });
  return app;
}
