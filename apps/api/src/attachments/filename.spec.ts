import { FILENAME_MAX, sanitizeFilename } from './filename';

describe('sanitizeFilename', () => {
  it('keeps an ordinary name', () => {
    expect(sanitizeFilename('upper jaw scan.stl')).toBe('upper jaw scan.stl');
  });

  it('drops path parts of either slash and leading dots', () => {
    expect(sanitizeFilename('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFilename('..\\..\\boot.ini')).toBe('boot.ini');
    expect(sanitizeFilename('../')).toBe('upload');
    expect(sanitizeFilename('.hidden')).toBe('hidden');
  });

  it('removes NUL, control characters and bidi overrides', () => {
    expect(sanitizeFilename('scan\u0000.stl')).toBe('scan.stl');
    expect(sanitizeFilename('a\tb\r\nc.pdf')).toBe('abc.pdf');
    expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFilename('x\u2066y\u2069.png')).toBe('xy.png');
  });

  it('caps the length and keeps the extension', () => {
    const long = `${'a'.repeat(1000)}.stl`;
    const out = sanitizeFilename(long);
    expect([...out].length).toBe(FILENAME_MAX);
    expect(out.endsWith('.stl')).toBe(true);
  });

  it('names nothing "upload"', () => {
    expect(sanitizeFilename(undefined)).toBe('upload');
    expect(sanitizeFilename('   ')).toBe('upload');
    expect(sanitizeFilename('\u0000\u202e')).toBe('upload');
  });
});
