import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { IS_PUBLIC, WITHOUT_LAB } from './public.decorator';
import { UmsGatewayService } from './ums-gateway.service';
import { AuthError } from './ums-gateway.errors';

export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') throw AuthError.missingToken();
  const [scheme, token, extra] = header.trim().split(/\s+/);
  if (scheme.toLowerCase() !== 'bearer' || !token || extra !== undefined)
    throw AuthError.malformedHeader();
  return token;
}

/**
 * The global guard: default deny. A route opts out with @Public(); every other
 * route needs a valid UMS token, and (unless @WithoutLab()) a lab the caller
 * is an active member of. The principal and lab go into the request context.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly gateway: UmsGatewayService,
    private readonly context: RequestContext,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const principal = await this.gateway.authenticate(bearerToken(req.headers.authorization));
    this.context.principal = principal;
    if (!this.reflector.getAllAndOverride<boolean>(WITHOUT_LAB, targets)) {
      this.context.lab = this.gateway.selectLab(principal, req.headers['x-lab-id']);
    }
    return true;
  }
}
