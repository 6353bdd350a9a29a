import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  let now = 1_000;
  const clock = () => now;

  it('returns values until they expire', () => {
    const c = new TtlCache<string, number>(10, clock);
    c.set('a', 1, now + 100);
    expect(c.get('a')).toBe(1);
    now += 100;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('stores nothing already expired, and evicts the oldest entry when full', () => {
    const c = new TtlCache<string, number>(2, clock);
    c.set('past', 1, now - 1);
    expect(c.get('past')).toBeUndefined();
    c.set('a', 1, now + 10);
    c.set('b', 2, now + 10);
    c.set('c', 3, now + 10);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([undefined, 2, 3]);
  });

  it('a re-set entry becomes the newest', () => {
    const c = new TtlCache<string, number>(2, clock);
    c.set('a', 1, now + 10);
    c.set('b', 2, now + 10);
    c.set('a', 11, now + 10);
    c.set('c', 3, now + 10);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([11, undefined, 3]);
  });
});
