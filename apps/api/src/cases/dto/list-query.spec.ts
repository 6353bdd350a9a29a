import {
  cursorFingerprint,
  decodeQueueCursor,
  DEFAULT_SORT,
  encodeCursor,
  encodeQueueCursor,
  parseListQuery,
} from './list-query';

const defaults = { perPage: 20, maxPerPage: 100 };
const parse = (q: Record<string, unknown>) => parseListQuery(q, defaults);
const errorsOf = (q: Record<string, unknown>) => {
  const r = parse(q);
  return 'errors' in r ? r.errors : {};
};
const fp = cursorFingerprint({ due_to: '2026-12-31' });

describe('list query: sort', () => {
  it('defaults to newest first, and reads a field with an optional minus for descending', () => {
    const plain = parse({});
    expect('ok' in plain && plain.ok.sort).toEqual(DEFAULT_SORT);
    expect(DEFAULT_SORT).toEqual({ field: 'created_at', desc: true });
    for (const [sort, field, desc] of [
      ['due_date', 'due_date', false],
      ['-due_date', 'due_date', true],
      ['ship_by', 'ship_by', false],
      ['-ship_by', 'ship_by', true],
      ['created_at', 'created_at', false],
      ['-created_at', 'created_at', true],
    ] as const) {
      const r = parse({ sort, limit: '5' });
      expect('ok' in r && r.ok.sort).toEqual({ field, desc });
    }
  });

  it('refuses an unknown field, a bad direction, a repeated sort and an `order` parameter', () => {
    for (const sort of [
      'name',
      'due',
      '+due_date',
      ' due_date',
      '--due_date',
      'due_date-',
      'DUE_DATE',
      '',
    ]) {
      expect([sort, Object.keys(errorsOf({ sort }))]).toEqual([sort, ['sort']]);
    }
    expect(Object.keys(errorsOf({ sort: ['due_date', 'ship_by'] }))).toEqual(['sort']);
    expect(Object.keys(errorsOf({ sort: 'due_date', order: 'desc' }))).toEqual(['order']);
    expect(Object.keys(errorsOf({ order: 'asc' }))).toEqual(['order']);
  });
});

describe('list query: at_risk', () => {
  it('is true or false, nothing else', () => {
    const t = parse({ at_risk: 'true' });
    expect('ok' in t && t.ok.filters).toEqual({ at_risk: true });
    const f = parse({ at_risk: 'false', late: 'false' });
    expect('ok' in f && f.ok.filters).toEqual({ at_risk: false, late: false });
    for (const v of ['maybe', '1', 'TRUE', '', ['true', 'false']])
      expect(Object.keys(errorsOf({ at_risk: v }))).toEqual(['at_risk']);
  });
});

describe('list query: cursors bound to their sort', () => {
  it('round-trips a cursor of each sort, a keyless one (no date) included', () => {
    for (const c of [
      { sort: { field: 'due_date', desc: false }, filters: fp, key: '2026-02-28', id: 7 },
      { sort: { field: 'ship_by', desc: true }, filters: fp, key: '', id: 2147483647 },
      {
        sort: { field: 'created_at', desc: false },
        filters: fp,
        key: '2026-01-01T10:00:00.123456Z',
        id: 1,
      },
    ] as const) {
      expect(decodeQueueCursor(encodeQueueCursor(c))).toEqual(c);
      const r = parse({
        sort: `${c.sort.desc ? '-' : ''}${c.sort.field}`,
        cursor: encodeQueueCursor(c),
      });
      expect('ok' in r && r.ok.mode === 'cursor' && r.ok.cursor).toEqual(c);
    }
  });

  it('reads a cursor of the earlier format as newest first, unbound (clients paging through a deploy)', () => {
    const legacy = encodeCursor({ createdAt: '2026-01-01T10:00:00.123456Z', id: 9 });
    expect(decodeQueueCursor(legacy)).toEqual({
      sort: DEFAULT_SORT,
      key: '2026-01-01T10:00:00.123456Z',
      id: 9,
    });
    expect(errorsOf({ cursor: legacy })).toEqual({});
    expect(Object.keys(errorsOf({ cursor: legacy, sort: 'due_date' }))).toEqual(['cursor']);
  });

  it('refuses a cursor of another sort or direction', () => {
    const c = encodeQueueCursor({
      sort: { field: 'due_date', desc: false },
      filters: fp,
      key: '2026-03-01',
      id: 3,
    });
    expect(errorsOf({ sort: 'due_date', cursor: c })).toEqual({});
    for (const sort of ['-due_date', 'ship_by', undefined])
      expect(errorsOf({ sort, cursor: c })).toEqual({ cursor: 'was issued for another sort' });
  });

  it('refuses forged and garbage cursors', () => {
    const raw = (text: string) => Buffer.from(text).toString('base64url');
    for (const bad of [
      'garbage!',
      raw('q1|due_date|AAAAAAAAAAAAAAAA|2026-02-30|1'), // no such day
      raw('q1|due_date|AAAAAAAAAAAAAAAA|2026-02-01T00:00:00.000000Z|1'), // a timestamp on a date sort
      raw('q1|created_at|AAAAAAAAAAAAAAAA|2026-02-01|1'), // a date on the timestamp sort
      raw('q1|created_at|AAAAAAAAAAAAAAAA||1'), // created_at is never missing
      raw('q1|name|AAAAAAAAAAAAAAAA|2026-02-01|1'),
      raw('q1|due_date|AAAA|2026-02-01|1'), // a short fingerprint
      raw('q1|due_date|AAAAAAAAAAAAAAAA|2026-02-01|2147483648'),
      raw('q1|due_date|AAAAAAAAAAAAAAAA|2026-02-01|-1'),
      raw('q2|due_date|AAAAAAAAAAAAAAAA|2026-02-01|1'),
    ]) {
      expect([bad, decodeQueueCursor(bad)]).toEqual([bad, undefined]);
      expect(errorsOf({ cursor: bad, sort: 'due_date' })).toEqual({
        cursor: 'is not a cursor this API issued',
      });
    }
  });

  it('fingerprints filters independently of their order, and differently for different filters', () => {
    expect(cursorFingerprint({ a: 1, b: 'x' })).toBe(cursorFingerprint({ b: 'x', a: 1 }));
    expect(cursorFingerprint({ a: 1, b: undefined })).toBe(cursorFingerprint({ a: 1 }));
    expect(cursorFingerprint({ at_risk: true })).not.toBe(cursorFingerprint({ at_risk: false }));
    expect(cursorFingerprint({})).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
