import {
  connection,
  createBodies,
  type Fixtures,
  listCursorPath,
  listOffsetPath,
  queueDueCursorPath,
  queueDuePath,
  slice,
  StatusBook,
} from './scenarios';

const fx: Fixtures = {
  labId: '9001',
  tokens: ['t0', 't1'],
  ids: [11, 12, 13],
  statusPool: [1, 2, 3, 4, 5, 6],
  deepCursor: 'abc_-',
  queueDueTo: '2026-06-30',
  queueCursor: 'q_-',
  createBodies: createBodies(3),
};
const cfg = {
  perPage: 50,
  deepOffset: 10_000,
  statusCycle: ['pending', 'on_hold'] as [string, string],
  statusExtra: {},
  mix: [
    { kind: 'get' as const, weight: 70 },
    { kind: 'status' as const, weight: 30 },
  ],
};

describe('bench scenarios', () => {
  it('builds the deep list paths of the issue (offset 10 000 = page 201 of 50, and the cursor)', () => {
    expect(listOffsetPath(10_000, 50)).toBe('/api/v1/cases/?page=201&per_page=50');
    expect(listCursorPath('a+b', 50)).toBe('/api/v1/cases/?limit=50&cursor=a%2Bb');
  });

  it('builds the due-date queue paths: the first page and a cursor page of the same list', () => {
    expect(queueDuePath('2026-06-30', 50)).toBe(
      '/api/v1/cases/?sort=due_date&due_to=2026-06-30&per_page=50',
    );
    expect(queueDueCursorPath('2026-06-30', 'a+b', 50)).toBe(
      '/api/v1/cases/?sort=due_date&due_to=2026-06-30&limit=50&cursor=a%2Bb',
    );
    const c = connection('queue_due_cursor', 0, {
      cfg,
      fx,
      book: new StatusBook(cfg.statusCycle),
      connections: 1,
      auth: true,
    });
    expect(c.next()).toMatchObject({
      method: 'GET',
      path: '/api/v1/cases/?sort=due_date&due_to=2026-06-30&limit=50&cursor=q_-',
      kind: 'queue_due_cursor',
    });
  });

  it('gives each connection its own token and a disjoint share of the status pool', () => {
    expect(slice([1, 2, 3, 4, 5, 6], 0, 3)).toEqual([1, 2]);
    expect(slice([1, 2, 3, 4, 5, 6], 2, 3)).toEqual([5, 6]);
    expect(slice([1, 2], 3, 4)).toEqual([2]);
    const book = new StatusBook(cfg.statusCycle);
    const a = connection('get', 0, { cfg, fx, book, connections: 2, auth: true });
    const b = connection('get', 1, { cfg, fx, book, connections: 2, auth: false });
    expect(a.headers).toEqual({ 'x-lab-id': '9001', authorization: 'Bearer t0' });
    expect(b.headers).toEqual({ 'x-lab-id': '9001' });
    expect(a.next().path).toMatch(/^\/api\/v1\/cases\/1[123]$/);
  });

  it('toggles a case between the two statuses, and only believes a 2xx', () => {
    const book = new StatusBook(cfg.statusCycle);
    const c = connection('status', 0, { cfg, fx, book, connections: 3, auth: true });
    const r1 = c.next();
    expect(r1).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/cases/1/status',
      body: '{"status":"on_hold"}',
    });
    c.onResponse(200);
    c.next(); // case 2
    c.onResponse(409);
    expect(c.next().body).toBe('{"status":"pending"}'); // case 1 again, now on hold
    c.onResponse(200);
    expect(c.next().body).toBe('{"status":"on_hold"}'); // case 2 never moved
  });

  it('mixes by weight', () => {
    const book = new StatusBook(cfg.statusCycle);
    const c = connection('mixed', 0, { cfg, fx, book, connections: 1, auth: true });
    const kinds = Array.from({ length: 2000 }, () => c.next().kind);
    const gets = kinds.filter((k) => k === 'get').length / kinds.length;
    expect(gets).toBeGreaterThan(0.65);
    expect(gets).toBeLessThan(0.75);
  });
});
