import { crc32 } from 'node:zlib';

/** Test images with the metadata the upload strips (unit and e2e tests). */

export function segment(marker: number, body: Buffer | string): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
  const h = Buffer.alloc(4);
  h[0] = 0xff;
  h[1] = marker;
  h.writeUInt16BE(b.length + 2, 2);
  return Buffer.concat([h, b]);
}

export function chunk(type: string, data: Buffer | string): Buffer {
  const d = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(d.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), d]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

export const JPEG_WITH_EXIF = Buffer.concat([
  Buffer.from([0xff, 0xd8]),
  segment(0xe0, 'JFIF\u0000\u0001\u0001\u0000\u0000\u0001\u0000\u0001\u0000\u0000'),
  segment(0xe1, 'Exif\u0000\u0000GPSLatitude 52.5200N'),
  segment(0xe1, 'http://ns.adobe.com/xap/1.0/\u0000<x:xmpmeta>Camera Serial 1234</x:xmpmeta>'),
  segment(0xed, 'Photoshop 3.0\u0000IPTC patient name'),
  segment(0xfe, 'a comment'),
  segment(0xdb, Buffer.alloc(65, 1)),
  segment(0xda, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
  Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xe1]),
  Buffer.from([0xff, 0xd9]),
]);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const PNG_WITH_TEXT = Buffer.concat([
  PNG_SIGNATURE,
  chunk('IHDR', Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])),
  chunk('tEXt', 'Comment\u0000GPS 52.52N'),
  chunk('eXIf', 'MM\u0000*GPS'),
  chunk('iTXt', 'XML:com.adobe.xmp\u0000\u0000\u0000\u0000\u0000<xmp>Serial</xmp>'),
  chunk('zTXt', 'Author\u0000\u0000xx'),
  chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1])),
  chunk('IEND', Buffer.alloc(0)),
]);
