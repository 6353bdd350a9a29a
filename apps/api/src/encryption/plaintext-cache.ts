/**
 * Decrypted field values by ciphertext and binding: a bounded, time-limited
 * map in this process's memory (never Redis, never disk). Sound because a
 * stored value names its data key version and a lab's data key of a version
 * never changes (rotation adds versions), so one ciphertext under one
 * binding always decrypts to the same plaintext; the binding (lab and
 * column) is checked on every hit, so a ciphertext copied into another lab's
 * row or another column is still decrypted — and refused — like any other.
 * Only values that decrypted are added. Least recently used first out, to
 * the second (a Map keeps insertion order; a hit moves its entry to the end
 * at most once a second).
 *
 * Looked up by the ciphertext's last characters — the GCM tag, random —
 * and the whole ciphertext compared on a hit: a key of the whole value (or
 * binding + value, as before) had to be hashed character by character on
 * every lookup, a fresh string for every field of every row read. What is
 * kept is what the caller made of the plaintext (PhiCipher keeps parsed,
 * frozen JSON), so a hit costs no parsing either.
 */
export class PlaintextCache {
  private readonly entries = new Map<
    string,
    { stored: string; binding: string; value: unknown; until: number; moved: number }
  >();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * What `open` makes of `stored` under `binding`, opening (and keeping it) on
   * a miss. `now`: the caller's clock reading, for many lookups in a row.
   */
  through<T>(binding: string, stored: string, open: () => T, now = this.now()): T {
    if (this.maxEntries === 0) return open();
    const key = stored.length > TAIL ? stored.slice(-TAIL) : stored;
    const hit = this.entries.get(key);
    if (hit && hit.stored === stored && hit.binding === binding && hit.until > now) {
      if (now - hit.moved >= 1000) {
        hit.moved = now;
        this.entries.delete(key);
        this.entries.set(key, hit);
      }
      return hit.value as T;
    }
    const value = open();
    if (hit) this.entries.delete(key);
    this.entries.set(key, { stored, binding, value, until: now + this.ttlMs, moved: now });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return value;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Characters of a ciphertext a lookup hashes: base64url of its 16-byte tag and a little more. */
const TAIL = 24;
