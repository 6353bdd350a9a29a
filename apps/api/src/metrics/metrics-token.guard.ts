import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Env } from '@lhcms/config';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** True when `header` is `Bearer <expected>`; constant time in the token's content and length. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  // Hashing first gives equal-length inputs, so neither length nor content leaks through timing.
  const ok = timingSafeEqual(digest(m?.[1] ?? ''), digest(expected));
  return ok && m !== null;
}

/**
 * `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>` when the
 * variable is set (a token of its own, not a user's JWT), else it is open.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(private readonly env: Env) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.env.METRICS_TOKEN;
    if (!expected) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    if (bearerMatches(req.headers.authorization, expected)) return true;
    void http.getResponse<FastifyReply>().header('www-authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException('A valid metrics token is required');
  }
}
