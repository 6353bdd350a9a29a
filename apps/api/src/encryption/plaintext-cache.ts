/**
 * Decrypted field values by binding and ciphertext: a bounded, time-limited
 * map in this process's memory (never Redis, never disk). Sound because a
 * stored value names its data key version and a lab's data key of a version
 * never changes (rotation adds versions), so one ciphertext under one
 * binding always decrypts to the same plaintext; the binding (lab and
 * column) is part of the key, so a ciphertext copied into another lab's row
 * or another column is still decrypted — and refused — like any other.
 * Only values that decrypted are added. Oldest first out (a Map keeps
 * insertion order; a hit moves the entry to the end).
 */
export class PlaintextCache {
  private readonly entries = new Map<string, { plain: string; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The plaintext of `stored` under `binding`, decrypting (and keeping it) on a miss. */
  through(binding: string, stored: string, decrypt: () => string): string {
    if (this.maxEntries === 0) return decrypt();
    const key = `${binding}\u0000${stored}`;
    const hit = this.entries.get(key);
    const now = this.now();
    if (hit && hit.until > now) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.plain;
    }
    const plain = decrypt();
    if (hit) this.entries.delete(key);
    this.entries.set(key, { plain, until: now + this.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return plain;
  }

  clear(): void {
    this.entries.clear();
  }
}
