/**
 * The raw baseline: what Node and PostgreSQL do on this machine for the same
 * list and get, with no framework, no auth, no audit, no transaction.
 *
 * The SQL is LHCMS's own: CasesRepository is called with a stand-in
 * EntityManager that sends each statement straight to a pg Pool, so a change
 * to the repository's SQL changes both sides of the ratio. The wire shape is
 * LHCMS's too (toCaseResponse, the list envelope, encodeCursor). The lab comes
 * from X-Lab-Id, unchecked. It connects as the superuser, so the numbers do not
 * move when row-level security policies land.
 */
import * as http from 'node:http';
import { Pool } from 'pg';
import type { EntityManager } from 'typeorm';
import { CasesRepository } from '../../apps/api/src/cases/cases.repository';
import {
  type CaseRow,
  type StoredCaseRow,
  toCaseResponse,
} from '../../apps/api/src/cases/dto/case.response';
import {
  cursorFingerprint,
  DEFAULT_SORT,
  encodeQueueCursor,
  parseListQuery,
} from '../../apps/api/src/cases/dto/list-query';
import { ON_TIME } from '../../apps/api/src/schedule';

const port = Number(process.env.BASELINE_PORT ?? 5099);
const pool = new Pool({
  connectionString: process.env.BASELINE_DATABASE_URL,
  max: Number(process.env.BASELINE_POOL_MAX ?? 50),
  idleTimeoutMillis: 1000,
});
const em = {
  queryRunner: undefined,
  query: async (text: string, params: unknown[]): Promise<unknown[]> =>
    (await pool.query(text, params)).rows as unknown[],
} as unknown as EntityManager;
const repo = new CasesRepository();

/** The row as stored, in wire shape: the baseline does no decryption (PHI columns go out as ciphertext). */
// The raw baseline serves no schedule flags' computation: fixed values in their place.
const asStored = (row: StoredCaseRow) => toCaseResponse(row as unknown as CaseRow, ON_TIME);
const defaults = { perPage: 20, maxPerPage: 100 };
const ID = /^\/api\/v1\/cases\/([1-9]\d{0,9})$/;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function list(labId: string, search: string): Promise<[number, unknown]> {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = q[k];
    q[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
  }
  const parsed = parseListQuery(q, defaults);
  if ('errors' in parsed) return [400, { errors: parsed.errors }];
  const lq = parsed.ok;
  // The baseline has no schedule: the bench's list requests use no `late` filter.
  const { late: _late, at_risk: _atRisk, ...filters } = lq.filters;
  const sort = lq.sort ?? DEFAULT_SORT;
  if (lq.mode === 'cursor') {
    const rows = await repo.after(em, labId, filters, lq.cursor, lq.limit + 1, sort);
    const more = rows.length > lq.limit;
    const page = more ? rows.slice(0, lq.limit) : rows;
    const last = page[page.length - 1];
    return [
      200,
      {
        cases: page.map(asStored),
        next_cursor:
          more && last
            ? encodeQueueCursor({
                sort,
                filters: cursorFingerprint(filters),
                key: (sort.field === 'created_at' ? last.created_at : last[sort.field]) ?? '',
                id: last.id,
              })
            : null,
        limit: lq.limit,
      },
    ];
  }
  const { rows, total } = await repo.pageWithTotal(
    em,
    labId,
    filters,
    (lq.page - 1) * lq.perPage,
    lq.perPage,
    sort,
  );
  const pages = Math.ceil(total / lq.perPage);
  return [
    200,
    {
      cases: rows.map(asStored),
      pagination: {
        page: lq.page,
        per_page: lq.perPage,
        total,
        pages,
        has_prev: lq.page > 1,
        has_next: lq.page < pages,
      },
    },
  ];
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const p = qi < 0 ? url : url.slice(0, qi);
  const labHeader = req.headers['x-lab-id'];
  const labId = Array.isArray(labHeader) ? labHeader[0] : labHeader;
  const handle = async (): Promise<[number, unknown]> => {
    if (p === '/health') return [200, { status: 'healthy' }];
    if (!labId) return [403, { error: 'X-Lab-Id required' }];
    if (req.method !== 'GET') return [405, { error: 'GET only' }];
    if (p === '/api/v1/cases/' || p === '/api/v1/cases')
      return list(labId, qi < 0 ? '' : url.slice(qi + 1));
    const m = ID.exec(p);
    if (m) {
      const row = await repo.findById(em, labId, Number(m[1]));
      return row ? [200, asStored(row)] : [404, { error: 'Not Found' }];
    }
    return [404, { error: 'Not Found' }];
  };
  handle().then(
    ([status, body]) => send(res, status, body),
    (err: unknown) => send(res, 503, { error: String(err) }),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`baseline listening on http://127.0.0.1:${port}\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
