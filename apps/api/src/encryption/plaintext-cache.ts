/**
 * Decrypted field values by ciphertext and binding: a bounded, time-limited
 * map in this process's memory (never Redis, never disk). Sound because a
 * stored value names its data key version and a lab's data key of a version
 * never changes (rotation adds versions), so one ciphertext under one
 * binding always decrypts to the same plaintext; the binding (lab and
 * column) is checked on every hit, so a ciphertext copied into another lab's
 * row or another column is still decrypted — and refused — like any other.
 * Only values that decrypted are added. Oldest first out (a Map keeps
 * insertion order; a hit moves the entry to the end).
 *
 * Keyed by the ciphertext alone (it carries a random IV: no two writes share
 * one) rather than by binding + ciphertext: a joined key was a fresh string
 * of every field of every row read, flattened and hashed on each lookup.
 * What is kept is what the caller made of the plaintext (PhiCipher keeps
 * parsed, frozen JSON), so a hit costs no parsing either.
 */
export class PlaintextCache {
  private readonly entries = new Map<string, { binding: string; value: unknown; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** What `open` makes of `stored` under `binding`, opening (and keeping it) on a miss. */
  through<T>(binding: string, stored: string, open: () => T): T {
    if (this.maxEntries === 0) return open();
    const hit = this.entries.get(stored);
    const now = this.now();
    if (hit && hit.binding === binding && hit.until > now) {
      this.entries.delete(stored);
      this.entries.set(stored, hit);
      return hit.value as T;
    }
    const value = open();
    if (hit) this.entries.delete(stored);
    this.entries.set(stored, { binding, value, until: now + this.ttlMs });
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
