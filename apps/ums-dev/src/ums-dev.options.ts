import type { Seed } from './ums-store';

export type UmsShape = 'A+B' | 'B';

export interface UmsDevOptions {
  seed: Seed;
  /** HS256 signing secret (share it with LHCMS as JWT_SECRET_KEY). */
  secret: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  /**
   * `A+B` (default): `/api/auth/me` answers the top-level user with `labs[]`
   * and also a `user` key holding the same object, and `/health` exists.
   * `B`: behaves like the published LHUMS: `{"user": {...}}` without labs, no `/health`.
   */
  shape: UmsShape;
  /** When set, `X-API-Key` must carry it on the calls a service makes (/api/auth/me, /api/labs, /health). */
  apiKey?: string;
}

export const UMS_DEV_OPTIONS = Symbol('UMS_DEV_OPTIONS');

/** Counters tests read to prove that a request did or did not reach the UMS. */
export class UmsDevStats {
  requests = 0;
  me = 0;
  labs = 0;
  /** X-API-Key of each service call (/api/auth/me, /api/labs, /health). */
  readonly apiKeys: Array<string | undefined> = [];
}
