import { storableText, unstorableText } from './storable-text';

describe('storable text', () => {
  it('finds NUL and unpaired surrogates in values and keys at any depth, by dotted path', () => {
    expect(
      unstorableText({
        ok: 'plain ünïcode 😀',
        name: 'a\u0000b',
        patient_info: { patient_id: 'P\ud800', notes: ['fine', '\udc00x'] },
        ['bad\u0000key']: 1,
      }),
    ).toEqual({
      name: expect.stringMatching(/NUL/),
      'patient_info.patient_id': expect.any(String),
      'patient_info.notes.1': expect.any(String),
      'bad\uFFFDkey': expect.any(String),
    });
    expect(unstorableText({ a: 'x', b: [1, null, { c: '😀' }] })).toEqual({});
    expect(unstorableText('\u0000')).toEqual({ '': expect.any(String) });
    expect(unstorableText(undefined)).toEqual({});
  });

  it('storableText replaces what PostgreSQL cannot store with U+FFFD and leaves the rest alone', () => {
    const clean = 'plain ünïcode 😀';
    expect(storableText(clean)).toBe(clean);
    expect(storableText('a\u0000b\ud800c')).toBe('a\uFFFDb\uFFFDc');
    expect(storableText('\ud83d\ude00')).toBe('😀'); // a pair is not unpaired
  });
});
