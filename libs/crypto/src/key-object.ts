import { createSecretKey, type KeyObject } from 'node:crypto';

const keyObjects = new WeakMap<Buffer, KeyObject>();

/**
 * A secret key as a KeyObject, made once per key Buffer. Node 24's
 * createCipheriv / createDecipheriv / createHmac import a raw Buffer key on
 * every call, which costs several times the operation itself on short input
 * (AES-256-GCM of a field: ~10 µs with a Buffer, ~2.5 µs with a KeyObject;
 * HMAC-SHA256: ~8 µs against ~1.3 µs). A list page decrypts ~400 fields and
 * hashes 50 patient references: the key imports were the CPU profile's top
 * two functions (issue #9).
 */
export function keyObject(key: Buffer): KeyObject {
  let ko = keyObjects.get(key);
  if (!ko) {
    ko = createSecretKey(key);
    keyObjects.set(key, ko);
  }
  return ko;
}
