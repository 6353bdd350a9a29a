import { isJsonContentType, nestsDeeperThan } from './json-body';

describe('JSON body gate', () => {
  const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  it('counts nesting levels of arrays and objects, the outermost being level 1', () => {
    expect(nestsDeeperThan('1', 1)).toBe(false);
    expect(nestsDeeperThan('{}', 1)).toBe(false);
    expect(nestsDeeperThan('{"a":[]}', 1)).toBe(true);
    expect(nestsDeeperThan(nest(32), 32)).toBe(false);
    expect(nestsDeeperThan(nest(33), 32)).toBe(true);
    expect(nestsDeeperThan(`[${nest(31)},${nest(31)},{"a":{}}]`, 32)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 2)).toBe(false);
    expect(nestsDeeperThan(`{"a\\"[[[[":"\\\\"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"","b":[[]]}`, 2)).toBe(true);
  });

  it('refuses a megabyte of brackets without recursion', () => {
    expect(nestsDeeperThan(nest(500_000), 32)).toBe(true);
  });

  it('JSON is application/json or a +json type, with parameters', () => {
    for (const ok of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/merge-patch+json',
    ])
      expect([ok, isJsonContentType(ok)]).toEqual([ok, true]);
    for (const bad of [
      undefined,
      '',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'text/json',
    ])
      expect([bad, isJsonContentType(bad)]).toEqual([bad, false]);
  });
});
