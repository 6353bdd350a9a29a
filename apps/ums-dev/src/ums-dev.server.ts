import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { UmsDevModule } from './ums-dev.module';
import { UmsDevStats, type UmsDevOptions } from './ums-dev.options';

export interface UmsDevServer {
  /** Base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  port: number;
  stats: UmsDevStats;
  close(): Promise<void>;
}

/**
 * Starts ums-dev: a real HTTP UMS for development, the embedded default, e2e
 * tests and docker-compose. Port 0 picks a free port.
 */
export async function startUmsDev(
  opts: UmsDevOptions,
  listen: { port: number; host?: string },
): Promise<UmsDevServer> {
  const stats = new UmsDevStats();
  const app = await NestFactory.create<NestFastifyApplication>(
    UmsDevModule.forRoot(opts, stats),
    new FastifyAdapter(),
    { logger: ['error'], abortOnError: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (req, reply) => {
    stats.requests++;
    const key = req.headers['x-api-key'];
    // The key authenticates the calling service (LHCMS) on what it calls; users log in without it.
    const serviceCall =
      req.url.startsWith('/api/auth/me') ||
      req.url.startsWith('/api/labs') ||
      req.url.startsWith('/health');
    if (serviceCall) stats.apiKeys.push(typeof key === 'string' ? key : undefined);
    if (opts.apiKey && serviceCall && key !== opts.apiKey) {
      await reply.code(401).send({ error: 'Invalid API key' });
    }
  });
  await app.listen(listen.port, listen.host ?? '127.0.0.1');
  const addr = fastify.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    close: () => app.close(),
  };
}
