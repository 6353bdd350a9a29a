import type { IncomingMessage } from 'node:http';
import { requestLogLevel } from '@lhcms/logging';
import { requestStoreOf, routeTemplateOf } from '@lhcms/request-context';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isLongLived } from '../common/http/long-lived';
import type { ShutdownState } from '../health';
import type { MetricsService } from '../metrics';

const REQUEST_LINE_REDACT = ['authorization', 'cookie', 'token', 'patient_info', 'patient_id'];

/** Status recorded for a request whose client went away before the response (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

const recorded = Symbol('lhcms.requestRecorded');
const startedAt = Symbol('lhcms.requestStartedAt');
type Raw = IncomingMessage & { [recorded]?: true; [startedAt]?: number };

/**
 * Probes and the scrape are infrastructure traffic at a fixed rate (kubelet,
 * Prometheus): counted in the RED metrics they would dilute error ratios and
 * latency SLOs, so they are left out of lhcms_requests_total and
 * lhcms_request_duration_seconds (Kubernetes readiness and Prometheus `up`
 * cover them). Their request lines are logged at debug.
 */
export function isInfraRoute(route: string): boolean {
  return route === '/metrics' || route === '/health' || route.startsWith('/health/');
}

export interface HttpObservabilityDeps {
  metrics: MetricsService;
  logger: Logger;
  shutdown: ShutdownState;
}

/**
 * One place that sees every response exactly once with its real status:
 * Fastify's onResponse hook runs after the response is sent, whatever
 * produced it — a handler, a guard or pipe error through the exception
 * filters, Fastify itself (404, 400 malformed JSON, 413, 415). It records the
 * RED metrics and writes the request's log line. A client that goes away
 * first is recorded as 499 (onRequestAbort); a per-request flag keeps it to
 * one record either way.
 */
export function installHttpObservability(fastify: FastifyInstance, deps: HttpObservabilityDeps) {
  // The request line has a fixed shape built here (no body, no headers but the user agent, no
  // query string): the logger's deep PHI redaction — a fifth of a request's CPU in the benchmark —
  // has nothing to find in it. A cheap exact-path guard stays.
  const lineLogger = deps.logger.child(
    {},
    { redact: { paths: REQUEST_LINE_REDACT, censor: '[REDACTED]' } },
  );
  const record = (req: FastifyRequest, status: number, ms: number): void => {
    const raw = req.raw as Raw;
    if (raw[recorded]) return;
    raw[recorded] = true;
    const route = routeTemplateOf(raw);
    // A long-lived response (the live feed) is counted, but its duration is no request latency.
    const seconds = isLongLived(req.routeOptions.config) ? undefined : ms / 1000;
    if (!isInfraRoute(route)) deps.metrics.httpRequest(req.method, route, status, seconds);
    const store = requestStoreOf(raw);
    const ua = req.headers['user-agent'];
    lineLogger[requestLogLevel(route, status)](
      {
        request_id: req.id,
        method: req.method,
        route,
        // The path without the query string (patient data never travels in a URL, queries may carry filters).
        path: (req.url.split('?')[0] ?? '').slice(0, 256),
        status,
        duration_ms: Math.round(ms * 10) / 10,
        user_id: store?.principal?.userId,
        lab_id: store?.lab?.labId,
        user_agent: typeof ua === 'string' ? ua.slice(0, 200) : undefined,
      },
      status === CLIENT_CLOSED_REQUEST ? 'request aborted by the client' : 'request completed',
    );
  };

  fastify.addHook('onRequest', async (req: FastifyRequest) => {
    (req.raw as Raw)[startedAt] = performance.now();
  });

  fastify.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    record(req, reply.statusCode, reply.elapsedTime);
  });

  fastify.addHook('onRequestAbort', async (req: FastifyRequest) => {
    const started = (req.raw as Raw)[startedAt];
    // A stream the client ends after it began is a normal end, not a request cut short.
    const status = isLongLived(req.routeOptions.config) ? 200 : CLIENT_CLOSED_REQUEST;
    record(req, status, started ? performance.now() - started : 0);
  });

  // While draining, responses close their connection, so that keep-alive
  // clients reconnect elsewhere, and idle connections close without resetting a request.
  deps.shutdown.connections.track(fastify.server);
}
