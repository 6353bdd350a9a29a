import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { keyObject } from './key-object';

/** Prefix of an encrypted field value: `enc:v1:<data key version>:<base64url(iv | ciphertext | tag)>`. */
const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface DataKey {
  version: number;
  /** 32 bytes, AES-256-GCM. Never leaves the process. */
  key: Buffer;
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** The data key version a stored value was encrypted under (undefined for plaintext). */
export function keyVersionOf(value: string): number | undefined {
  if (!isEncrypted(value)) return undefined;
  const v = Number(value.slice(PREFIX.length, value.indexOf(':', PREFIX.length)));
  return Number.isInteger(v) ? v : undefined;
}

/**
 * AES-256-GCM with a fresh 96-bit IV per value. The AAD binds the ciphertext
 * to its lab and column, so a value copied into another lab's row or another
 * column does not decrypt.
 */
export function encryptField(dk: DataKey, aad: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', keyObject(dk.key), iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return `${PREFIX}${dk.version}:${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url')}`;
}

export class FieldDecryptError extends Error {}

export function decryptField(dk: DataKey, aad: string, stored: string): string {
  if (keyVersionOf(stored) !== dk.version) throw new FieldDecryptError('data key version mismatch');
  const raw = Buffer.from(stored.slice(stored.indexOf(':', PREFIX.length) + 1), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new FieldDecryptError('ciphertext too short');
  const d = createDecipheriv('aes-256-gcm', keyObject(dk.key), raw.subarray(0, IV_BYTES));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([
      d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      d.final(),
    ]).toString('utf8');
  } catch {
    throw new FieldDecryptError('authentication failed');
  }
}
