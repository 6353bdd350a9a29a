import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isRedisFault } from '@lhcms/cache';
import { isDatabaseUnavailable } from '@lhcms/database';
import { isServiceFault, serializeError } from '@lhcms/logging';
import { RouteTable } from '../http/route-table';
import { CommonErrorCode, DomainError, ValidationFailedError } from './domain-error';
import { errorBody } from './error-body';
import { statusFor } from './error-status';

/**
 * Records refused and failed requests in the audit trail (AuditService). The
 * filter awaits it before answering: a refused attempt is on record before
 * the client learns of the refusal. It rejects when the record cannot be
 * written, and the answer becomes a 503.
 */
export interface FailureAuditor {
  recordFailure(req: FastifyRequest, status: number, code: string | undefined): Promise<boolean>;
}

/** The error code recorded with a refusal: a domain code, a Fastify code or the HTTP exception's name. */
function codeOf(err: unknown): string | undefined {
  if (err instanceof DomainError) return String(err.code);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return /^[A-Z0-9_]{1,64}$/.test(code) ? code : undefined;
  if (err instanceof HttpException) return err.name;
  return undefined;
}

interface Mapped {
  status: number;
  message: string;
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const FASTIFY: Record<string, Mapped> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    message: 'Request body must be JSON (Content-Type: application/json)',
  },
  LHCMS_MULTIPART_REQUIRED: {
    status: 415,
    message: 'Request body must be multipart/form-data (one file in the part `file`)',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, message: 'Invalid Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'Request body is too large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'Request body is empty' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: 'Malformed JSON in request body' },
};

/** Retry-After (seconds) on every 503. */
export const RETRY_AFTER_S = 2;

/**
 * The database cannot serve this request now (down, not connected yet, or too
 * busy to hand out a connection within DB_POOL_TIMEOUT): 503. Whatever the
 * request had written is rolled back.
 */
const DATABASE_UNAVAILABLE: Mapped = { status: 503, message: 'Database unavailable' };

const AUDIT_UNAVAILABLE: Mapped = { status: 503, message: 'Audit trail unavailable' };

/** The audit trail itself failed: nothing more can be recorded about this request. */
function isAuditUnavailable(err: unknown): boolean {
  return err instanceof DomainError && !err.recordable;
}

/** What may be logged of an unexpected error: no query parameters, row values or stack trace (they can hold PHI). */
export function safeError(err: unknown): unknown {
  return err instanceof Error ? serializeError(err) : { type: typeof err };
}

/**
 * The one error shape for every error (docs/api.md, "Errors"): domain errors by code,
 * Fastify's parser errors (400/413/415), unknown routes (404) and wrong
 * methods (405 with Allow), a database outage (503), and anything else as a
 * generic 500 whose details go to the log only.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly log = new Logger('Errors');

  constructor(
    private readonly routes: RouteTable,
    private readonly auditor?: FailureAuditor,
  ) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    let m = this.map(exception, req);
    if (isServiceFault(m.status)) {
      this.log.error(
        { err: safeError(exception), request_id: req.id, status: m.status },
        'request failed',
      );
    } else if (m.status >= 500) {
      // A dependency that cannot serve now, or an integration not configured: not a fault of
      // this service (readiness, the dependency gauges and alerts tell that story).
      this.log.warn({ err: safeError(exception), request_id: req.id, status: m.status }, m.message);
    }
    if (this.auditor && !isAuditUnavailable(exception)) {
      try {
        await this.auditor.recordFailure(req, m.status, codeOf(exception));
      } catch {
        // Fail closed: an attempt that cannot be put on record is answered 503. When the
        // database itself is the cause, that is what the answer says.
        if (m !== DATABASE_UNAVAILABLE) m = AUDIT_UNAVAILABLE;
      }
    }
    if (reply.sent) return;
    // Every 503 is a dependency that cannot serve now (database, audit trail, UMS, directory):
    // it says when to try again.
    const retry = m.status === 503 ? { 'retry-after': String(RETRY_AFTER_S) } : {};
    void reply
      .status(m.status)
      .headers({
        'content-type': 'application/json; charset=utf-8',
        ...retry,
        ...(m.headers ?? {}),
      })
      .send(errorBody(m.status, m.message, String(req.id), m.extra));
  }

  private map(err: unknown, req: FastifyRequest): Mapped {
    if (err instanceof ValidationFailedError) {
      return { status: 400, message: err.message, extra: { errors: err.errors } };
    }
    if (err instanceof DomainError && err.code === CommonErrorCode.DatabaseUnavailable) {
      return DATABASE_UNAVAILABLE;
    }
    if (err instanceof DomainError) {
      return {
        status: statusFor(String(err.code)),
        message: err.message,
        extra: err.details,
        headers: err.headers,
      };
    }
    const code = (err as { code?: string }).code;
    if (code && FASTIFY[code]) return FASTIFY[code];
    if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
      return FASTIFY.FST_ERR_CTP_INVALID_JSON_BODY;
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      if (status === 404 && !req.routeOptions.url) {
        const allowed = this.routes.allowed(req.url);
        if (allowed.length > 0) {
          const withHead =
            allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD'] : allowed;
          // The method is allowed here, so the route itself answered 404 (a wildcard route such as
          // the docs' static files, for a file it does not have): not a wrong method.
          if (withHead.includes(req.method)) return { status: 404, message: 'Resource not found' };
          return {
            status: 405,
            message: `Method ${req.method} not allowed; allowed: ${withHead.join(', ')}`,
            headers: { allow: withHead.join(', ') },
          };
        }
        return { status: 404, message: 'Resource not found' };
      }
      return { status, message: status >= 500 ? 'Internal server error' : err.message };
    }
    const statusCode = (err as { statusCode?: number }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return { status: statusCode, message: 'Bad request' };
    }
    // A Redis fault that reached a request (the cache and the rate limiter fall
    // back on their own): never reported as a database outage.
    if (isRedisFault(err)) return { status: 503, message: 'Cache unavailable (Redis)' };
    if (isDatabaseUnavailable(err)) return DATABASE_UNAVAILABLE;
    return { status: 500, message: 'Internal server error' };
  }
}
