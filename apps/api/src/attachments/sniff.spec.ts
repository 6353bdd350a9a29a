import { contradictsName, defaultKind, sniffType } from './sniff';

function binaryStl(triangles: number): Buffer {
  const b = Buffer.alloc(84 + triangles * 50, 0);
  b.write('solid binary header written by a scanner', 0, 'latin1');
  b.writeUInt32LE(triangles, 80);
  for (let i = 84; i < b.length; i++) b[i] = (i * 7) % 256;
  return b;
}

describe('sniffType', () => {
  it('knows a PDF by its bytes, whatever the name', async () => {
    expect(
      await sniffType(Buffer.from('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n', 'latin1'), true),
    ).toEqual({
      mime: 'application/pdf',
    });
  });

  it('ASCII STL', async () => {
    const stl = 'solid tooth\n  facet normal 0 0 1\n    outer loop\n';
    expect(await sniffType(Buffer.from(stl), true)).toEqual({ mime: 'model/stl' });
  });

  it('binary STL is provisional on its size', async () => {
    const stl = binaryStl(3);
    expect(await sniffType(stl, true)).toEqual({ mime: 'model/stl', expectedSize: 234 });
  });

  it('"solid" alone with text is not STL', async () => {
    expect((await sniffType(Buffer.from('solid as a rock\nnothing else\n'), true)).mime).toBe(
      'application/octet-stream',
    );
  });

  it('PLY', async () => {
    expect(
      await sniffType(
        Buffer.from('ply\nformat binary_little_endian 1.0\nelement vertex 3\n'),
        true,
      ),
    ).toEqual({ mime: 'model/ply' });
  });

  it('OBJ', async () => {
    const obj = '# exported\no crown\nv 0.1 0.2 0.3\nv 1 2 3\nvn 0 0 1\nf 1 2 3\n';
    expect(await sniffType(Buffer.from(obj), true)).toEqual({ mime: 'model/obj' });
  });

  it('plain text is not OBJ', async () => {
    const text = 'v 1 2 3\nthis is a letter\n';
    expect((await sniffType(Buffer.from(text), true)).mime).toBe('application/octet-stream');
  });

  it('DICOM: DICM at offset 128', async () => {
    const d = Buffer.alloc(200, 0);
    d.write('DICM', 128, 'latin1');
    expect(await sniffType(d, true)).toEqual({ mime: 'application/dicom' });
  });

  it('PNG and JPEG through file-type', async () => {
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55',
      'hex',
    );
    expect((await sniffType(png, true)).mime).toBe('image/png');
    const jpeg = Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb', 'hex');
    expect((await sniffType(jpeg, true)).mime).toBe('image/jpeg');
  });

  it('default kinds', () => {
    expect(defaultKind('model/stl')).toBe('scan');
    expect(defaultKind('image/png')).toBe('photo');
    expect(defaultKind('application/pdf')).toBe('document');
    expect(defaultKind('application/zip')).toBe('other');
  });
});

describe('contradictsName', () => {
  it('a .stl that is a PDF contradicts its name; a name without a known extension claims nothing', () => {
    expect(contradictsName('crown.stl', 'application/pdf')).toBe(true);
    expect(contradictsName('crown.STL', 'model/stl')).toBe(false);
    expect(contradictsName('photo.jpeg', 'image/jpeg')).toBe(false);
    expect(contradictsName('scan', 'model/stl')).toBe(false);
    expect(contradictsName('notes.txt', 'application/pdf')).toBe(false);
  });
});
