import { storableText, unacceptableValues } from './storable-text';

describe('unacceptable values', () => {
  it('finds NUL and unpaired surrogates in values and keys at any depth, by dotted path', () => {
    expect(
      unacceptableValues({
        ok: 'plain ünïcode 😀',
        name: 'a\u0000b',
        patient_info: { patient_id: 'P\ud800', notes: ['fine', '\udc00x'] },
        ['bad\u0000key']: 1,
      }),
    ).toEqual({
      name: expect.stringMatching(/NUL/),
      'patient_info.patient_id': expect.any(String),
      'patient_info.notes.1': expect.any(String),
      // A bad key is reported at its parent: the key is what the client sent.
      '': expect.stringMatching(/key/),
    });
    expect(unacceptableValues({ a: 'x', b: [1, null, { c: '😀' }] })).toEqual({});
    expect(unacceptableValues('\u0000')).toEqual({ '': expect.any(String) });
    expect(unacceptableValues(undefined)).toEqual({});
  });

  it('refuses numbers that are not finite (1e400 parses to Infinity)', () => {
    expect(unacceptableValues(JSON.parse('{"age":1e400,"x":[-1e400],"y":1.5}'))).toEqual({
      age: 'must be a finite number',
      'x.0': 'must be a finite number',
    });
  });

  it('names declared fields only: a path stops at the first key the API does not declare', () => {
    const declared = new Set(['patient_info', 'age']);
    expect(
      unacceptableValues(
        { patient_info: { age: Infinity, 'Jane Doe': { notes: ['\u0000'] } } },
        '',
        {},
        declared,
      ),
    ).toEqual({ 'patient_info.age': expect.any(String), patient_info: expect.any(String) });
  });

  it('walks without recursion: depth is bounded by the parser, not the stack', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(Object.keys(unacceptableValues(deep))).toHaveLength(1);
  });

  it('storableText replaces what PostgreSQL cannot store with U+FFFD and leaves the rest alone', () => {
    const clean = 'plain ünïcode 😀';
    expect(storableText(clean)).toBe(clean);
    expect(storableText('a\u0000b\ud800c')).toBe('a\uFFFDb\uFFFDc');
    expect(storableText('\ud83d\ude00')).toBe('😀'); // a pair is not unpaired
  });
});
