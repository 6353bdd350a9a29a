import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { metadataFilter } from './metadata-strip';
import { chunk, JPEG_WITH_EXIF, PNG_WITH_TEXT, segment } from './metadata-strip.fixtures';

async function strip(mime: string, input: Buffer, pieceSize: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieceSize) pieces.push(input.subarray(i, i + pieceSize));
  const filter = metadataFilter(mime);
  if (!filter) throw new Error('no filter');
  return buffer(Readable.from(pieces).pipe(filter));
}

describe('metadataFilter', () => {
  it.each([1, 3, 7, 4096])(
    'JPEG: drops APP1 (EXIF, XMP), APP13 and COM, in pieces of %i',
    async (n) => {
      const out = await strip('image/jpeg', JPEG_WITH_EXIF, n);
      const text = out.toString('latin1');
      expect(text).not.toMatch(/GPS|Exif|xmpmeta|Photoshop|IPTC|a comment/);
      const expected = Buffer.concat([
        Buffer.from([0xff, 0xd8]),
        segment(0xe0, 'JFIF\u0000\u0001\u0001\u0000\u0000\u0001\u0000\u0001\u0000\u0000'),
        segment(0xdb, Buffer.alloc(65, 1)),
        segment(0xda, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
        Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xe1]),
        Buffer.from([0xff, 0xd9]),
      ]);
      expect(out.equals(expected)).toBe(true);
    },
  );

  it.each([1, 5, 4096])('PNG: drops eXIf, tEXt, iTXt and zTXt, in pieces of %i', async (n) => {
    const out = await strip('image/png', PNG_WITH_TEXT, n);
    const text = out.toString('latin1');
    expect(text).not.toMatch(/GPS|tEXt|eXIf|iTXt|zTXt|Serial|Author/);
    expect(text).toContain('IHDR');
    expect(text).toContain('IDAT');
    expect(out.subarray(-12).equals(chunk('IEND', Buffer.alloc(0)))).toBe(true);
  });

  it('a JPEG without metadata passes unchanged', async () => {
    const plain = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      segment(0xdb, Buffer.alloc(10, 2)),
      segment(0xda, Buffer.from([1, 2])),
      Buffer.from([9, 9, 0xff, 0xd9]),
    ]);
    expect((await strip('image/jpeg', plain, 2)).equals(plain)).toBe(true);
  });

  it('a truncated header is kept as it came, not lost', async () => {
    const cut = JPEG_WITH_EXIF.subarray(0, 3);
    expect((await strip('image/jpeg', cut, 1)).equals(cut)).toBe(true);
  });

  it('other types have no filter', () => {
    expect(metadataFilter('application/pdf')).toBeUndefined();
  });
});
