import type { BenchConfig, MixKind, ScenarioName } from './config';
import { caseInput, rng } from './seed-data';

/** What the scenarios need from the seeded database and the UMS. */
export interface Fixtures {
  /** The lab every scenario acts in (the largest). */
  labId: string;
  /** Access tokens of that lab's users; connection k uses tokens[k % n]. */
  tokens: string[];
  /** Live case ids of the lab, shuffled (get by id). */
  ids: number[];
  /** Ids whose status is the first of the cycle at the start (status changes). */
  statusPool: number[];
  /** Cursor at depth `deepOffset` (the keyset equivalent of the deep offset page). */
  deepCursor: string;
  /** The due-date work queue: `due_to` of its list (the lab's median due date, ~half the lab). */
  queueDueTo: string;
  /** A cursor of that queue at depth `deepOffset` (or half the queue when shorter). */
  queueCursor: string;
  /** Pre-serialised create bodies. */
  createBodies: string[];
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: string;
  /** The case a get or a status change names (the payload check compares the answer with it). */
  id?: number;
  /** Which kind of request this is (for the mixed scenario's accounting). */
  kind:
    | MixKind
    | 'list_offset_deep'
    | 'list_cursor_deep'
    | 'queue_due'
    | 'queue_due_cursor'
    | 'report_on_time';
}

/** One connection's request stream; pipelining is 1, so a response answers the last request. */
export interface Connection {
  headers: Record<string, string>;
  next(): RequestSpec;
  onResponse(status: number): void;
  /** The request last returned by next() (the one the next response answers). */
  last(): RequestSpec | undefined;
}

export const CASES_PATH = '/api/v1/cases/';

export function listPage1Path(perPage: number): string {
  return `${CASES_PATH}?page=1&per_page=${perPage}`;
}

export function listOffsetPath(deepOffset: number, perPage: number): string {
  return `${CASES_PATH}?page=${deepOffset / perPage + 1}&per_page=${perPage}`;
}

/** The on-time report over the year up to `today` (UTC; the bench lab's calendar is the default). */
export function reportOnTimePath(today = new Date()): string {
  const to = today.toISOString().slice(0, 10);
  const from = new Date(today.getTime() - 364 * 86_400_000).toISOString().slice(0, 10);
  return `/api/v1/reports/on-time?from=${from}&to=${to}`;
}

export function listCursorPath(cursor: string, perPage: number): string {
  return `${CASES_PATH}?limit=${perPage}&cursor=${encodeURIComponent(cursor)}`;
}

/** The due-date work queue (issue 16): first page, earliest due first, keyset ordered by (due_date, id). */
export function queueDuePath(dueTo: string, perPage: number): string {
  return `${CASES_PATH}?sort=due_date&due_to=${dueTo}&per_page=${perPage}`;
}

/** A keyset page of the due-date queue (the cursor is bound to its sort and filters). */
export function queueDueCursorPath(dueTo: string, cursor: string, perPage: number): string {
  return `${CASES_PATH}?sort=due_date&due_to=${dueTo}&limit=${perPage}&cursor=${encodeURIComponent(cursor)}`;
}

/** Known status of the ids in the status pool (kept across points, updated on 2xx). */
export class StatusBook {
  private readonly known = new Map<number, string>();

  constructor(private readonly cycle: [string, string]) {}

  /** The status to move `id` to: the other one of the cycle. */
  target(id: number): string {
    return (this.known.get(id) ?? this.cycle[0]) === this.cycle[0] ? this.cycle[1] : this.cycle[0];
  }

  moved(id: number, to: string): void {
    this.known.set(id, to);
  }
}

/**
 * The body of a status change. Kept in one place because status transitions
 * may get rules (e.g. a reason for on_hold): adapt `--status-cycle` and
 * `--status-extra`, or this function.
 */
export function statusBody(to: string, extra: Record<string, unknown>): string {
  return JSON.stringify({ ...extra, status: to });
}

/** Connection k's share of the status pool (disjoint between connections: no two in-flight changes of one case). */
export function slice<T>(pool: T[], k: number, of: number): T[] {
  const per = Math.floor(pool.length / of);
  if (per === 0) return pool.length ? [pool[k % pool.length]] : [];
  return pool.slice(k * per, (k + 1) * per);
}

export interface ScenarioContext {
  cfg: Pick<BenchConfig, 'perPage' | 'deepOffset' | 'statusCycle' | 'statusExtra' | 'mix'>;
  fx: Fixtures;
  book: StatusBook;
  /** Connections of this point (the status pool is split between them). */
  connections: number;
  /** Send tokens (LHCMS) or not (raw baseline: no auth). */
  auth: boolean;
}

/** The request stream of connection `k` in a scenario. */
export function connection(name: ScenarioName, k: number, ctx: ScenarioContext): Connection {
  const { cfg, fx } = ctx;
  const r = rng(0x5eed + k * 104_729);
  const headers: Record<string, string> = { 'x-lab-id': fx.labId };
  if (ctx.auth) headers.authorization = `Bearer ${fx.tokens[k % fx.tokens.length]}`;
  const mine = slice(fx.statusPool, k, ctx.connections);
  let cursor = 0;
  let pending: { id: number; to: string } | undefined;

  const get = (): RequestSpec => {
    const id = fx.ids[Math.floor(r() * fx.ids.length)];
    return { method: 'GET', path: `${CASES_PATH}${id}`, id, kind: 'get' };
  };
  const page1 = (): RequestSpec => ({
    method: 'GET',
    path: listPage1Path(cfg.perPage),
    kind: 'list_page1',
  });
  const create = (): RequestSpec => ({
    method: 'POST',
    path: CASES_PATH,
    body: fx.createBodies[Math.floor(r() * fx.createBodies.length)],
    kind: 'create',
  });
  const status = (): RequestSpec => {
    const id = mine[cursor++ % mine.length];
    const to = ctx.book.target(id);
    pending = { id, to };
    return {
      method: 'PATCH',
      path: `${CASES_PATH}${id}/status`,
      body: statusBody(to, cfg.statusExtra),
      id,
      kind: 'status',
    };
  };
  const total = cfg.mix.reduce((a, m) => a + m.weight, 0);
  const mixed = (): RequestSpec => {
    let x = r() * total;
    for (const m of cfg.mix) {
      x -= m.weight;
      if (x < 0) return { get, list_page1: page1, status, create }[m.kind]();
    }
    return get();
  };

  let next: () => RequestSpec;
  switch (name) {
    case 'list_page1':
      next = page1;
      break;
    case 'list_offset_deep':
      next = () => ({
        method: 'GET',
        path: listOffsetPath(cfg.deepOffset, cfg.perPage),
        kind: 'list_offset_deep',
      });
      break;
    case 'list_cursor_deep':
      next = () => ({
        method: 'GET',
        path: listCursorPath(fx.deepCursor, cfg.perPage),
        kind: 'list_cursor_deep',
      });
      break;
    case 'queue_due':
      next = () => ({
        method: 'GET',
        path: queueDuePath(fx.queueDueTo, cfg.perPage),
        kind: 'queue_due',
      });
      break;
    case 'queue_due_cursor':
      next = () => ({
        method: 'GET',
        path: queueDueCursorPath(fx.queueDueTo, fx.queueCursor, cfg.perPage),
        kind: 'queue_due_cursor',
      });
      break;
    case 'get':
      next = get;
      break;
    case 'report_on_time': {
      const path = reportOnTimePath();
      next = () => ({ method: 'GET', path, kind: 'report_on_time' });
      break;
    }
    case 'create':
      next = create;
      break;
    case 'status':
      next = status;
      break;
    case 'mixed':
      next = mixed;
      break;
  }
  let last: RequestSpec | undefined;
  return {
    headers,
    next: () => {
      pending = undefined;
      last = next();
      return last;
    },
    last: () => last,
    onResponse: (code) => {
      if (pending && code >= 200 && code < 300) ctx.book.moved(pending.id, pending.to);
    },
  };
}

/** Bodies for the create scenario (valid CaseInput, deterministic). */
export function createBodies(n: number): string[] {
  const r = rng(4242);
  return Array.from({ length: n }, () => JSON.stringify(caseInput(r)));
}

/** The expected success status of a request kind. */
export function okStatus(kind: RequestSpec['kind']): number {
  return kind === 'create' ? 201 : 200;
}
