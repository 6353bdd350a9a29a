import { Transform, type TransformCallback } from 'node:stream';

/**
 * Streaming removal of the metadata a photo carries about where and by what
 * it was taken (EXIF with GPS, XMP, IPTC, text chunks), before it is
 * encrypted and stored. Only the container is parsed — segment and chunk
 * headers, a few bytes at a time — so memory stays bounded whatever the size;
 * image data passes through untouched.
 *
 * JPEG: APP1 (Exif, XMP), APP13 (Photoshop IRB / IPTC) and COM segments are
 * dropped until the first SOS (start of scan); the rest of the file is copied.
 * PNG: eXIf, tEXt, iTXt and zTXt chunks are dropped (their CRCs go with them;
 * the kept chunks are copied whole, CRC included).
 *
 * A file that does not parse as its container (a truncated header, a length
 * past the end) is copied from that point on as it is: the type was already
 * sniffed, and a broken image is the uploader's, not a reason to lose bytes.
 */

const JPEG_DROP = new Set([0xe1, 0xed, 0xfe]);
const PNG_DROP = new Set(['eXIf', 'tEXt', 'iTXt', 'zTXt']);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Step =
  | { kind: 'header' } // waiting for the next header
  | { kind: 'copy'; left: number }
  | { kind: 'skip'; left: number }
  | { kind: 'rest' }; // copy everything that follows

/** Decides, from the pending header bytes, what comes next; `need` more bytes, or a step and its consumed length. */
type HeaderParser = (
  pending: Buffer,
) => { need: number } | { consumed: number; emit: boolean; body: Step };

abstract class ContainerFilter extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private step: Step = { kind: 'header' };
  protected started = false;

  protected abstract parse: HeaderParser;
  protected abstract signature(pending: Buffer): { need: number } | { ok: boolean; length: number };

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (!this.started) {
        const s = this.signature(data);
        if ('need' in s) break;
        this.started = true;
        this.push(data.subarray(0, s.length));
        data = data.subarray(s.length);
        if (!s.ok) this.step = { kind: 'rest' };
        continue;
      }
      const step = this.step;
      if (step.kind === 'rest') {
        this.push(data);
        data = Buffer.alloc(0);
      } else if (step.kind === 'copy' || step.kind === 'skip') {
        const n = Math.min(step.left, data.length);
        if (step.kind === 'copy') this.push(data.subarray(0, n));
        data = data.subarray(n);
        step.left -= n;
        if (step.left === 0) this.step = { kind: 'header' };
      } else {
        const r = this.parse(data);
        if ('need' in r) break;
        if (r.emit) this.push(data.subarray(0, r.consumed));
        data = data.subarray(r.consumed);
        this.step = r.body;
      }
    }
    this.pending = Buffer.from(data);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    // A header cut by the end of the file: kept as it came.
    if (this.pending.length > 0) this.push(this.pending);
    cb();
  }
}

class JpegFilter extends ContainerFilter {
  protected signature(p: Buffer): { need: number } | { ok: boolean; length: number } {
    if (p.length < 2) return { need: 2 };
    return { ok: p[0] === 0xff && p[1] === 0xd8, length: 2 };
  }

  protected parse: HeaderParser = (p) => {
    if (p.length < 2) return { need: 2 };
    if (p[0] !== 0xff) return { consumed: 0, emit: false, body: { kind: 'rest' } };
    // Fill bytes: 0xFF repeated before a marker.
    if (p[1] === 0xff) return { consumed: 1, emit: true, body: { kind: 'header' } };
    const marker = p[1];
    const standalone = marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
    if (standalone) {
      return { consumed: 2, emit: true, body: { kind: marker === 0xd9 ? 'rest' : 'header' } };
    }
    if (p.length < 4) return { need: 4 };
    const length = p.readUInt16BE(2);
    if (length < 2) return { consumed: 0, emit: false, body: { kind: 'rest' } };
    if (marker === 0xda) {
      // Start of scan: the compressed image data follows; nothing more is parsed.
      return { consumed: 4, emit: true, body: { kind: 'rest' } };
    }
    const drop = JPEG_DROP.has(marker);
    return {
      consumed: 4,
      emit: !drop,
      body: { kind: drop ? 'skip' : 'copy', left: length - 2 },
    };
  };
}

class PngFilter extends ContainerFilter {
  protected signature(p: Buffer): { need: number } | { ok: boolean; length: number } {
    if (p.length < 8) return { need: 8 };
    return { ok: p.subarray(0, 8).equals(PNG_SIGNATURE), length: 8 };
  }

  protected parse: HeaderParser = (p) => {
    if (p.length < 8) return { need: 8 };
    const length = p.readUInt32BE(0);
    const type = p.toString('latin1', 4, 8);
    if (!/^[A-Za-z]{4}$/.test(type) || length > 0x7fffffff) {
      return { consumed: 0, emit: false, body: { kind: 'rest' } };
    }
    if (type === 'IEND') return { consumed: 0, emit: false, body: { kind: 'rest' } };
    const drop = PNG_DROP.has(type);
    return {
      consumed: 8,
      emit: !drop,
      body: { kind: drop ? 'skip' : 'copy', left: length + 4 },
    };
  };
}

/** The filter for a content type, or undefined when the type carries nothing to strip. */
export function metadataFilter(mime: string): Transform | undefined {
  if (mime === 'image/jpeg') return new JpegFilter();
  if (mime === 'image/png') return new PngFilter();
  return undefined;
}
