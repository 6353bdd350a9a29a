import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { REQUIRED_PERMISSION } from './permissions';
import { IS_PUBLIC } from '../common/http/public.decorator';

export interface RouteAccess {
  controller: string;
  handler: string;
  public: boolean;
  permission?: string;
}

/** Every controller handler with its access decision. */
export function routeAccess(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
): RouteAccess[] {
  const out: RouteAccess[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as object | undefined;
    if (!instance) continue;
    const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name] as (...args: unknown[]) => unknown;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue; // not a route handler
      const targets: Array<Function> = [handler, wrapper.metatype as Function];
      out.push({
        controller: String(wrapper.name),
        handler: name,
        public: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        permission: reflector.getAllAndOverride<string | undefined>(REQUIRED_PERMISSION, targets),
      });
    }
  }
  return out;
}

/**
 * Default deny, enforced at boot: a route with neither @Public() nor
 * @RequirePermission() stops the application from starting.
 */
@Injectable()
export class AccessPolicyCheck implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const undeclared = routeAccess(this.discovery, this.scanner, this.reflector).filter(
      (r) => !r.public && !r.permission,
    );
    if (undeclared.length > 0) {
      throw new Error(
        `routes without an access decision (@Public() or @RequirePermission()): ${undeclared.map((r) => `${r.controller}.${r.handler}`).join(', ')}`,
      );
    }
  }
}
