import { randomBytes } from 'node:crypto';
import {
  decryptField,
  encryptField,
  FieldDecryptError,
  isEncrypted,
  keyVersionOf,
} from './field-cipher';
import { LocalKekProvider, localKekId } from './kek';

describe('field encryption (AES-256-GCM)', () => {
  const dk = { version: 3, key: randomBytes(32) };

  it('round-trips, never shows the plaintext, and uses a fresh IV each time', () => {
    const a = encryptField(dk, '1|patient_info', '{"patient_id":"MRN-1"}');
    const b = encryptField(dk, '1|patient_info', '{"patient_id":"MRN-1"}');
    expect(a).not.toBe(b);
    expect(a).not.toContain('MRN');
    expect(isEncrypted(a)).toBe(true);
    expect(keyVersionOf(a)).toBe(3);
    expect(decryptField(dk, '1|patient_info', a)).toBe('{"patient_id":"MRN-1"}');
  });

  it('refuses another lab, another column, a tampered value or a wrong key', () => {
    const v = encryptField(dk, '1|description', 'secret');
    expect(() => decryptField(dk, '2|description', v)).toThrow(FieldDecryptError);
    expect(() => decryptField(dk, '1|case_name', v)).toThrow(FieldDecryptError);
    const tampered = v.slice(0, -3) + (v.endsWith('A') ? 'BBB' : 'AAA');
    expect(() => decryptField(dk, '1|description', tampered)).toThrow(FieldDecryptError);
    expect(() => decryptField({ version: 3, key: randomBytes(32) }, '1|description', v)).toThrow(
      FieldDecryptError,
    );
  });
});

describe('LocalKekProvider', () => {
  it('wraps with the current KEK and unwraps with retired ones, bound to the context', async () => {
    const oldKek = randomBytes(32);
    const newKek = randomBytes(32);
    const dataKey = randomBytes(32);
    const before = new LocalKekProvider(oldKek);
    const w = await before.wrap(dataKey, { lab: '1' });
    expect(w.kekId).toBe(localKekId(oldKek));
    const after = new LocalKekProvider(newKek, [oldKek]);
    expect((await after.unwrap(w, { lab: '1' })).equals(dataKey)).toBe(true);
    await expect(after.unwrap(w, { lab: '2' })).rejects.toThrow();
    const rewrapped = await after.wrap(dataKey, { lab: '1' });
    expect(rewrapped.kekId).toBe(localKekId(newKek));
    await expect(new LocalKekProvider(newKek).unwrap(w, { lab: '1' })).rejects.toThrow(
      /not configured/,
    );
  });
});
