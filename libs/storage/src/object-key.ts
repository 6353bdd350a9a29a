import { randomBytes } from 'node:crypto';

/**
 * Object keys are made by the server, never taken from a request: two hex
 * characters of fan-out, a slash, and 32 base64url characters (192 random
 * bits), e.g. `3f/q9b2...`. Stores refuse anything else, so no key can name a
 * path outside the store or another object's temp file.
 */
export const OBJECT_KEY_PATTERN = /^[a-z0-9]{2}\/[A-Za-z0-9_-]{20,128}$/;

/** A key that does not have the server-made form: a bug, never a user's doing. */
export class InvalidObjectKeyError extends Error {
  constructor() {
    super('invalid object key');
  }
}

export function newObjectKey(): string {
  return `${randomBytes(1).toString('hex')}/${randomBytes(24).toString('base64url')}`;
}

export function isValidObjectKey(key: unknown): key is string {
  return typeof key === 'string' && OBJECT_KEY_PATTERN.test(key);
}

export function assertObjectKey(key: unknown): asserts key is string {
  if (!isValidObjectKey(key)) throw new InvalidObjectKeyError();
}

/** Checks an inclusive byte range; RangeError when it is not one. */
export function assertRange(range: { start: number; end: number }): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
    throw new RangeError('range must satisfy 0 <= start <= end');
}
