import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Optional,
} from '@nestjs/common';
import { LAB_ID_PATTERN } from '@lhcms/database';
import { Env } from '@lhcms/config';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { type Principal, RequestContext } from '@lhcms/request-context';
import { UmsJwtStrategy } from './jwt.strategy';
import {
  COMPLIANCE_PERMISSIONS,
  type Permission,
  REQUIRED_PERMISSION,
  roleAllows,
} from './permissions';
import {
  EMERGENCY_GRANT_HEADER,
  EMERGENCY_GRANT_RESOLVER,
  type EmergencyGrantResolver,
} from './lab-access';
import { IS_PUBLIC, WITHOUT_LAB } from '../common/http/public.decorator';
import { TokenRejected, type TokenRequest } from './token-verifier';
import { UmsGatewayService } from './ums-gateway.service';
import { AuthError } from './ums-gateway.errors';

export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === '') throw AuthError.missingToken();
  const [scheme, token, extra] = header.trim().split(/\s+/);
  if (scheme.toLowerCase() !== 'bearer' || !token || extra !== undefined)
    throw AuthError.malformedHeader();
  return token;
}

function first(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined ? undefined : v.trim();
}

/**
 * The global guard: default deny. A route opts out with @Public(); every other
 * route needs a valid UMS token (@nestjs/passport with the passport-jwt
 * UmsJwtStrategy), (unless @WithoutLab()) a lab the caller is an active member
 * of, and the @RequirePermission its handler declares, granted by the
 * caller's role in that lab — or, with `X-Emergency-Grant`, by the caller's
 * emergency grant on the lab of X-Lab-Id (EmergencyGrantResolver), or, for a
 * compliance officer (COMPLIANCE_ROLES), the audit permissions in the lab of
 * X-Lab-Id (COMPLIANCE_PERMISSIONS). Routes declaring neither do not start
 * (AccessPolicyCheck). The principal and lab go into the request context.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard() implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly gateway: UmsGatewayService,
    private readonly context: RequestContext,
    private readonly strategy: UmsJwtStrategy,
    @Inject(Env) private readonly env: Env,
    @Optional()
    @Inject(EMERGENCY_GRANT_RESOLVER)
    private readonly grants?: EmergencyGrantResolver,
  ) {
    // This application's strategy, by its own name (see UmsJwtStrategy).
    super({ defaultStrategy: strategy.name, session: false });
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    // A token verified before skips passport's per-request setup (+5–11 % of a get's CPU; docs/adr).
    const remembered = await this.strategy
      .rememberedPrincipal(bearerToken(req.headers.authorization))
      .catch((err: unknown) => this.handleRequest(err, false));
    if (remembered) this.context.principal = remembered;
    else await super.canActivate(ctx);
    const principal = this.context.principal;
    const needed = this.reflector.getAllAndOverride<Permission | undefined>(
      REQUIRED_PERMISSION,
      targets,
    );
    let role;
    if (!this.reflector.getAllAndOverride<boolean>(WITHOUT_LAB, targets)) {
      const labHeader = first(req.headers['x-lab-id']);
      const grantHeader = req.headers[EMERGENCY_GRANT_HEADER];
      if (grantHeader !== undefined) {
        // Emergency access (break-glass): the grant decides the lab and the role, never a membership.
        if (!this.grants) throw AuthError.missingPermission(needed ?? '(undeclared)');
        const { lab, access } = await this.grants.resolve(
          principal,
          first(grantHeader),
          labHeader,
          {
            route: req.routeOptions?.url,
            params: req.params,
          },
        );
        this.context.lab = lab;
        this.context.access = access;
        role = lab.role;
      } else if (needed && this.complianceMay(principal, needed, labHeader)) {
        // A compliance officer reviews any lab's audit trail, and nothing else of it.
        this.context.lab = { labId: labHeader as string, role: 'viewer', active: true };
        this.context.access = { kind: 'compliance' };
        return true;
      } else {
        const lab = this.gateway.selectLab(principal, req.headers['x-lab-id']);
        this.context.lab = lab;
        role = lab.role;
      }
    }
    if (!needed) throw AuthError.missingPermission('(undeclared)');
    if (!roleAllows(role, needed)) throw AuthError.missingPermission(needed);
    return true;
  }

  /** A COMPLIANCE_ROLES principal, an audit permission, and a lab named in X-Lab-Id. */
  private complianceMay(p: Principal, needed: Permission, labHeader: string | undefined): boolean {
    return (
      COMPLIANCE_PERMISSIONS.has(needed) &&
      labHeader !== undefined &&
      LAB_ID_PATTERN.test(labHeader) &&
      (p.platformRoles ?? []).some((r) => this.env.COMPLIANCE_ROLES.includes(r))
    );
  }

  /**
   * What passport sees: the bearer token alone, parsed here so that a missing
   * or malformed header keeps its own 401 code. Passport decorates this small
   * object, not Fastify's request.
   */
  override getRequest(ctx: ExecutionContext): TokenRequest {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    return { token: bearerToken(req.headers.authorization) };
  }

  getResponse(): undefined {
    return undefined;
  }

  /** Every token problem is the one 401; UMS outages (503) and other errors pass through. */
  override handleRequest<T = Principal>(err: unknown, user: unknown): T {
    if (err instanceof TokenRejected) throw AuthError.invalidToken();
    if (err) throw err instanceof Error ? err : AuthError.invalidToken();
    if (!user) throw AuthError.invalidToken();
    this.context.principal = user as Principal;
    return user as T;
  }
}
