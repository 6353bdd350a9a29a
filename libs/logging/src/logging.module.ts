import { Env } from '@lhcms/config';
import { ClsServiceManager } from 'nestjs-cls';
import { LoggerModule, type Params } from 'nestjs-pino';
import pino, { type DestinationStream, type LevelWithSilent, type LoggerOptions } from 'pino';
import { redactPaths } from './phi-fields';

/** Where log lines go: stdout unless a test hands in a stream. */
export interface LoggingOptions {
  destination?: DestinationStream;
}

/** Routes whose request lines are logged at debug: probes and the Prometheus scrape. */
const INFRA_ROUTE = /^\/(health|metrics)(\/|$)/;

/**
 * Level of a request line: probes and /metrics at debug (kubelet and
 * Prometheus call them every few seconds), 5xx error, 4xx warn, else info.
 */
/**
 * A 5xx that is a fault of this service (500 and the like). 503 (a dependency
 * cannot serve now: the database, the UMS, the audit trail) and 501 (an
 * optional integration is not configured) are states of the deployment,
 * reported by readiness, metrics and alerts: logged as warnings, so that the
 * error level stays the service's own faults.
 */
export function isServiceFault(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 503;
}

export function requestLogLevel(route: string, status: number): LevelWithSilent {
  if (INFRA_ROUTE.test(route)) return 'debug';
  if (isServiceFault(status)) return 'error';
  if (status >= 400) return 'warn';
  return 'info';
}

/**
 * Errors are logged as type, code, message and the location they were thrown
 * at, never a stack trace: a TypeORM QueryFailedError also carries the query
 * parameters and the driver error's `detail` ("Key (x)=(value)"), and a
 * PostgreSQL message can quote a value ('invalid input syntax for type
 * integer: "…"'), as can a JSON SyntaxError ('Unexpected token … "…" is not
 * valid JSON'): row values that may be PHI. Those messages are replaced by
 * what they are; the SQLSTATE code says the rest.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & {
    code?: unknown;
    status?: unknown;
    severity?: unknown;
    driverError?: { code?: unknown };
  };
  const code = e.code ?? e.driverError?.code;
  const fromDatabase =
    e.name === 'QueryFailedError' || typeof e.severity === 'string' || e.driverError !== undefined;
  const message = fromDatabase
    ? 'database error'
    : e instanceof SyntaxError
      ? 'syntax error'
      : e.message.slice(0, 300);
  const at = e.stack
    ?.split('\n')
    .find((l) => l.trimStart().startsWith('at '))
    ?.trim()
    .slice(3);
  return {
    type: e.name || e.constructor?.name || 'Error',
    message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
    ...(at ? { at } : {}),
  };
}

/** The request id of the current request context, on every line logged inside a request. */
function requestIdMixin(mergeObject: object): object {
  if ('request_id' in mergeObject) return {};
  const cls = ClsServiceManager.getClsService();
  const id = cls.isActive() ? cls.getId() : undefined;
  return id ? { request_id: id } : {};
}

/** pino options of the application logger (JSON lines, redaction, request id). */
export function loggerOptions(env: Env): LoggerOptions {
  return {
    level: env.LOG_LEVEL,
    redact: { paths: redactPaths(), censor: '[REDACTED]' },
    base: { service: 'lhcms' },
    messageKey: 'msg',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: requestIdMixin,
    serializers: { err: serializeError },
    transport:
      env.NODE_ENV === 'development' && process.stdout.isTTY
        ? { target: 'pino-pretty', options: { singleLine: true } }
        : undefined,
  };
}

/**
 * The most a write to stdout carries: a pipe's PIPE_BUF. A container's stdout
 * is a pipe, and the audit stream may share it (AUDIT_LOG_DESTINATION=stdout);
 * only a write of at most PIPE_BUF bytes is atomic there, so a longer one
 * could be interleaved with the other stream's and break lines apart.
 * sonic-boom packs whole lines into writes of at most this (a single longer
 * line is written alone).
 */
export const PIPE_SAFE_WRITE = 4096;

/**
 * stdout, asynchronous and batched (flushed on exit). A synchronous write per
 * line blocked the event loop for a noticeable share of each request; an
 * asynchronous write per line still cost ~5 % of a get's CPU (one thread-pool
 * hand-off per line). Lines are written once 2 KiB are waiting, and at the
 * latest every 100 ms.
 */
export const STDOUT = {
  dest: 1,
  sync: false,
  minLength: 2048,
  maxWrite: PIPE_SAFE_WRITE,
  periodicFlush: 100,
} as const;

let stdout: DestinationStream | undefined;

/**
 * The process's one stdout destination: made once, whatever the number of
 * applications a process builds (tests build many; each destination keeps a
 * flush timer for the life of the process).
 */
function stdoutDestination(): DestinationStream {
  stdout ??= pino.destination(STDOUT);
  return stdout;
}

/**
 * nestjs-pino as the Nest logger: JSON lines, secrets and PHI redacted by
 * path, the request id on every line logged inside a request (from the
 * request context), pretty output only in development on a terminal.
 *
 * The one line per request is not pino-http's: it is written by the app's
 * Fastify onResponse hook (apps/api/src/http/http-observability.ts), next to
 * the request metrics, so both see every response exactly once with its real
 * status and route template — 404s and body-parser errors included — and the
 * principal resolved during the request. pino-http's middleware is therefore
 * not mounted (its per-request logger would also be lost after Fastify parses
 * a body, the same async-context gap the request context closes).
 */
export function loggerModule(options: LoggingOptions = {}) {
  return LoggerModule.forRootAsync({
    inject: [Env],
    useFactory: (env: Env): Params => {
      const pinoOptions = { ...loggerOptions(env), autoLogging: false };
      if (options.destination) {
        return {
          forRoutes: [],
          pinoHttp: [{ ...pinoOptions, transport: undefined }, options.destination],
        };
      }
      if (pinoOptions.transport) return { forRoutes: [], pinoHttp: pinoOptions };
      return { forRoutes: [], pinoHttp: [pinoOptions, stdoutDestination()] };
    },
  });
}
