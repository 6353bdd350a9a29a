import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ClsServiceManager, ContextClsStoreMap } from 'nestjs-cls';
import type { LhcmsStore } from './request-context';

/** Route template of a request that matched no route (404s): a fixed label, never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** The raw request as the HTTP hooks see it: the route template is stored on it once matched. */
export type RawWithRoute = IncomingMessage & { routeTemplate?: string };

/** The request-context store of a raw request; still readable after the response (request log line). */
export function requestStoreOf(raw: IncomingMessage): LhcmsStore | undefined {
  const store: LhcmsStore | undefined = ContextClsStoreMap.getByRaw(raw);
  return store;
}

/** The route template of a request, e.g. `/api/v1/cases/:id`; `unmatched` for 404s. */
export function routeTemplateOf(raw: IncomingMessage): string {
  return (raw as RawWithRoute).routeTemplate ?? UNMATCHED_ROUTE;
}

/**
 * Completes the request context once Fastify has matched the route. Runs as
 * an onRequest hook after nestjs-cls's middleware (Nest mounts middleware
 * when the app is created; install this afterwards), so the context is open:
 * echoes the request id as `X-Request-Id` and records the route template,
 * client IP and user agent.
 *
 * The context itself is nestjs-cls's middleware (RequestContextModule).
 * Verified on Fastify 5 (test/observability/request-context.e2e-spec.ts): it
 * survives body parsing — Fastify's content-type parser resumes the request
 * in the async context it started in — and reaches guards, pipes, handlers
 * and exception filters, also for Fastify's own 400/413/415/404 errors.
 * Note: nestjs-cls picks its Fastify mount path by the adapter's class name
 * (`FastifyAdapter`); a subclass of the adapter silently mounts nothing.
 */
export function installRequestContext(fastify: FastifyInstance): void {
  const cls = ClsServiceManager.getClsService<LhcmsStore>();
  fastify.addHook('onRequest', (req, reply, done) => {
    // req.id comes from genReqId = requestIdFrom (a valid inbound X-Request-Id
    // or traceparent, else a UUID): logs, metrics, error bodies, audit rows and
    // this header carry the same value.
    void reply.header('x-request-id', req.id);
    // The route template for logs and metrics (never the raw path: ids, PHI, cardinality).
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    (req.raw as RawWithRoute).routeTemplate = route;
    if (cls.isActive()) {
      const ua = req.headers['user-agent'];
      cls.set('route', route);
      cls.set('ip', req.ip);
      if (typeof ua === 'string') cls.set('userAgent', ua.slice(0, 256));
    }
    done();
  });
}
