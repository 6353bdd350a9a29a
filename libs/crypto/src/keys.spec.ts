import { deriveKey, patientRef } from './keys';

describe('key derivation and patient references', () => {
  const root = 'r'.repeat(40);

  it('derives distinct, stable 32-byte keys per purpose', () => {
    const a = deriveKey(root, 'patient-ref');
    expect(a).toHaveLength(32);
    expect(deriveKey(root, 'patient-ref').equals(a)).toBe(true);
    expect(deriveKey(root, 'audit-chain').equals(a)).toBe(false);
    expect(deriveKey('s'.repeat(40), 'patient-ref').equals(a)).toBe(false);
  });

  it('patient refs are keyed, lab-scoped and never contain the identifier', () => {
    const k = deriveKey(root, 'patient-ref');
    const ref = patientRef(k, '1', 'MRN-12345');
    expect(ref).not.toContain('12345');
    expect(patientRef(k, '1', ' MRN-12345 ')).toBe(ref);
    expect(patientRef(k, '2', 'MRN-12345')).not.toBe(ref);
    expect(patientRef(deriveKey(root, 'blind-index'), '1', 'MRN-12345')).not.toBe(ref);
  });
});
