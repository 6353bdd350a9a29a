import type { CaseResponse } from '../dto/case.response';
import type { CaseStatus } from '../../case-model';

/** Who acts, in which lab (from the request context: see `@Actor()`). */
export interface CaseActor {
  userId: string;
  labId: string;
  /** Lab code for case numbers (from the UMS; `L<lab id>` when it has none). */
  labCode?: string;
  /** The caller's bearer token, forwarded to the doctor directory. */
  token: string;
  /** May reopen completed cases (case:reopen). */
  canReopen: boolean;
  requestId?: string;
}

/** Preconditions of a write: the client's If-Match version, if it sent one. */
export interface WriteOptions {
  ifMatch?: number;
}

export interface CasePage {
  cases: CaseResponse[];
  pagination: {
    page: number;
    per_page: number;
    total: number;
    pages: number;
    has_prev: boolean;
    has_next: boolean;
  };
}

export interface CaseCursorPage {
  cases: CaseResponse[];
  next_cursor: string | null;
  limit: number;
}

export interface CreateResult {
  case: CaseResponse;
  /** True when an Idempotency-Key matched an earlier create: nothing new was written. */
  replayed: boolean;
}

export interface BulkResultItem {
  id: number;
  ok: boolean;
  status?: CaseStatus;
  version?: number;
  code?: number;
  error?: string;
  allowed_transitions?: string[];
}
