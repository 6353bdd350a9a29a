import { contentDisposition, parseRange } from './byte-range';

describe('parseRange', () => {
  it('reads the three forms', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
  });

  it('beyond the end is unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=200-300', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
  });

  it('ignores what it does not serve: none, several ranges, other units, nonsense', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
    expect(parseRange('bytes=9-2', 100)).toBeUndefined();
    expect(parseRange('bytes=-', 100)).toBeUndefined();
  });
});

describe('contentDisposition', () => {
  it('has an ASCII fallback and the UTF-8 name', () => {
    expect(contentDisposition('Zahn "oben" ö.stl')).toBe(
      `attachment; filename="Zahn _oben_ _.stl"; filename*=UTF-8''Zahn%20%22oben%22%20%C3%B6.stl`,
    );
  });
});

describe('parseRange at the edges', () => {
  it('an open range starting at the size is unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=99-', 100)).toEqual({ start: 99, end: 99 });
  });
});
