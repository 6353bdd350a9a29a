import { Injectable } from '@nestjs/common';
import { ClsService, type ClsStore } from 'nestjs-cls';
import type { LabMembership, Principal } from './principal';

export interface LhcmsStore extends ClsStore {
  principal?: Principal;
  /** The lab this request acts in (X-Lab-Id or the default membership). */
  lab?: LabMembership;
  /** How the caller reaches the lab when it is not through a membership (emergency grant, compliance). */
  access?: LabAccess;
  /** Route template, e.g. /api/v1/cases/:id (set once the router matched). */
  route?: string;
  /** Client IP (trusted-proxy aware). */
  ip?: string;
  userAgent?: string;
}

/**
 * Access to a lab that is not a membership: an emergency-access grant (issue
 * 19: the grant's id, its read/write access and, for a case-scoped grant, the
 * case), or a compliance officer's audit review.
 */
export type LabAccess =
  | { kind: 'emergency'; grantId: string; access: 'read' | 'write'; caseId: string | null }
  | { kind: 'compliance' };

export class NoPrincipalError extends Error {
  constructor() {
    super('No authenticated principal in this request context');
  }
}

export class NoLabError extends Error {
  constructor() {
    super('No lab selected in this request context');
  }
}

/** Typed access to the per-request context (nestjs-cls). */
@Injectable()
export class RequestContext {
  constructor(private readonly cls: ClsService<LhcmsStore>) {}

  get active(): boolean {
    return this.cls.isActive();
  }

  get requestId(): string | undefined {
    return this.cls.isActive() ? this.cls.getId() : undefined;
  }

  /** The authenticated principal; throws when there is none (never a silent undefined). */
  get principal(): Principal {
    const p = this.cls.isActive() ? this.cls.get('principal') : undefined;
    if (!p) throw new NoPrincipalError();
    return p;
  }

  get principalOrUndefined(): Principal | undefined {
    return this.cls.isActive() ? this.cls.get('principal') : undefined;
  }

  set principal(p: Principal) {
    this.cls.set('principal', p);
  }

  /** The lab this request acts in; throws when none was selected. */
  get lab(): LabMembership {
    const l = this.cls.isActive() ? this.cls.get('lab') : undefined;
    if (!l) throw new NoLabError();
    return l;
  }

  get labOrUndefined(): LabMembership | undefined {
    return this.cls.isActive() ? this.cls.get('lab') : undefined;
  }

  set lab(l: LabMembership) {
    this.cls.set('lab', l);
  }

  /** The request's emergency grant or compliance access; undefined for a membership (or no lab). */
  get access(): LabAccess | undefined {
    return this.cls.isActive() ? this.cls.get('access') : undefined;
  }

  set access(a: LabAccess | undefined) {
    if (this.cls.isActive()) this.cls.set('access', a);
  }

  get route(): string | undefined {
    return this.cls.isActive() ? this.cls.get('route') : undefined;
  }

  set route(r: string | undefined) {
    if (this.cls.isActive()) this.cls.set('route', r);
  }

  get ip(): string | undefined {
    return this.cls.isActive() ? this.cls.get('ip') : undefined;
  }

  get userAgent(): string | undefined {
    return this.cls.isActive() ? this.cls.get('userAgent') : undefined;
  }
}
