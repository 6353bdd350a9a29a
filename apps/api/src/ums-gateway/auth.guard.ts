import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RequestContext } from '@lhcms/request-context';
import { type Permission, REQUIRED_PERMISSION, roleAllows } from './permissions';
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
 * route needs a valid UMS token, (unless @WithoutLab()) a lab the caller is an
 * active member of, and the @RequirePermission its handler declares, granted
 * by the caller's role in that lab. Routes declaring neither do not start
 * (AccessPolicyCheck). The principal and lab go into the request context.
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
    let role;
    if (!this.reflector.getAllAndOverride<boolean>(WITHOUT_LAB, targets)) {
      const lab = this.gateway.selectLab(principal, req.headers['x-lab-id']);
      this.context.lab = lab;
      role = lab.role;
    }
    const needed = this.reflector.getAllAndOverride<Permission | undefined>(
      REQUIRED_PERMISSION,
      targets,
    );
    if (!needed) throw AuthError.missingPermission('(undeclared)');
    if (!roleAllows(role, needed)) throw AuthError.missingPermission(needed);
    return true;
  }
}
