import { PlaintextCache } from './plaintext-cache';

describe('PlaintextCache', () => {
  let now = 0;
  const clock = () => now;
  const counted = () => {
    const calls: string[] = [];
    return {
      calls,
      decrypt: (v: string) => () => {
        calls.push(v);
        if (v.startsWith('bad')) throw new Error('authentication failed');
        return `plain(${v})`;
      },
    };
  };

  beforeEach(() => (now = 1_000));

  it('decrypts a value once, then answers from memory until it expires', () => {
    const c = new PlaintextCache(10, 60_000, clock);
    const d = counted();
    expect(c.through('lab1|patient_info', 'enc:v1:1:AAA', d.decrypt('AAA'))).toBe('plain(AAA)');
    expect(c.through('lab1|patient_info', 'enc:v1:1:AAA', d.decrypt('AAA'))).toBe('plain(AAA)');
    expect(d.calls).toEqual(['AAA']);
    now += 60_001;
    expect(c.through('lab1|patient_info', 'enc:v1:1:AAA', d.decrypt('AAA'))).toBe('plain(AAA)');
    expect(d.calls).toEqual(['AAA', 'AAA']);
  });

  it('keys by binding too: the same ciphertext in another lab or column is decrypted (and refused) again', () => {
    const c = new PlaintextCache(10, 60_000, clock);
    const d = counted();
    c.through('lab1|patient_info', 'enc:v1:1:AAA', d.decrypt('AAA'));
    // A copy of lab 1's ciphertext in lab 2's row: never served from lab 1's entry.
    expect(() => c.through('lab2|patient_info', 'enc:v1:1:AAA', d.decrypt('bad-copy'))).toThrow(
      'authentication failed',
    );
    c.through('lab1|description', 'enc:v1:1:AAA', d.decrypt('AAA-col'));
    expect(d.calls).toEqual(['AAA', 'bad-copy', 'AAA-col']);
  });

  it('keeps nothing that failed to decrypt', () => {
    const c = new PlaintextCache(10, 60_000, clock);
    const d = counted();
    expect(() => c.through('b', 'enc:v1:1:X', d.decrypt('bad'))).toThrow();
    expect(() => c.through('b', 'enc:v1:1:X', d.decrypt('bad'))).toThrow();
    expect(c.size).toBe(0);
    expect(d.calls).toEqual(['bad', 'bad']);
  });

  it('holds at most maxEntries, dropping the least recently used (to the second)', () => {
    const c = new PlaintextCache(2, 60_000, clock);
    const d = counted();
    c.through('b', 'A', d.decrypt('A'));
    c.through('b', 'B', d.decrypt('B'));
    now += 1_000;
    c.through('b', 'A', d.decrypt('A')); // A used again a second later: B is now the oldest
    c.through('b', 'C', d.decrypt('C')); // B out
    expect(c.size).toBe(2);
    c.through('b', 'A', d.decrypt('A'));
    c.through('b', 'B', d.decrypt('B'));
    expect(d.calls).toEqual(['A', 'B', 'C', 'B']);
  });

  it('within a second a hit does not reorder: the first in is the first out', () => {
    const c = new PlaintextCache(2, 60_000, clock);
    const d = counted();
    c.through('b', 'A', d.decrypt('A'));
    c.through('b', 'B', d.decrypt('B'));
    c.through('b', 'A', d.decrypt('A'));
    c.through('b', 'C', d.decrypt('C')); // A out (used again, but within the second)
    c.through('b', 'B', d.decrypt('B'));
    c.through('b', 'A', d.decrypt('A'));
    expect(d.calls).toEqual(['A', 'B', 'C', 'A']);
  });

  it('looks values up by their tail, and answers only for the very same ciphertext', () => {
    const c = new PlaintextCache(10, 60_000, clock);
    const d = counted();
    const tail = 'T'.repeat(30);
    const one = `enc:v1:1:one-body-${tail}`;
    const other = `enc:v1:1:other-body-${tail}`; // the same last characters, another value
    expect(c.through('b', one, d.decrypt('one'))).toBe('plain(one)');
    expect(c.through('b', other, d.decrypt('other'))).toBe('plain(other)');
    expect(c.through('b', other, d.decrypt('other'))).toBe('plain(other)');
    expect(c.through('b', one, d.decrypt('one'))).toBe('plain(one)');
    expect(d.calls).toEqual(['one', 'other', 'one']);
    expect(c.size).toBe(1);
  });

  it('with 0 entries it is off: every read decrypts', () => {
    const c = new PlaintextCache(0, 60_000, clock);
    const d = counted();
    c.through('b', 'A', d.decrypt('A'));
    c.through('b', 'A', d.decrypt('A'));
    expect(d.calls).toEqual(['A', 'A']);
    expect(c.size).toBe(0);
  });
});
