import { randomBytes } from 'node:crypto';
import { keyObject } from './key-object';

describe('keyObject', () => {
  it('imports each key once and keeps keys apart', () => {
    const a = randomBytes(32);
    const b = Buffer.from(a);
    expect(keyObject(a)).toBe(keyObject(a));
    expect(keyObject(b)).not.toBe(keyObject(a));
    expect(keyObject(a).type).toBe('secret');
    expect(keyObject(a).export().equals(a)).toBe(true);
  });
});
