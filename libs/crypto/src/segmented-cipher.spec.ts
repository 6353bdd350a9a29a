import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ciphertextRangeFor,
  decryptStream,
  DEFAULT_SEGMENT_SIZE,
  encryptedSize,
  encryptStream,
  parseSegmentHeader,
  plaintextSize,
  SEGMENT_HEADER_BYTES,
  SEGMENT_TAG_BYTES,
  SegmentIntegrityError,
  type DecryptStreamOptions,
} from './segmented-cipher';

const KEY = randomBytes(32);
const CTX = 'lab:7|attachment:0b7f';

/** Feeds `data` in chunks of `chunk` bytes (the stream sizes real uploads arrive in). */
function source(data: Buffer, chunk = 16 * 1024): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (off >= data.length) return this.push(null);
      this.push(data.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

async function collect(src: Readable, ...transforms: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
  });
  await pipeline([src, ...transforms, sink]);
  return Buffer.concat(out);
}

const encrypt = (plain: Buffer, segmentSize?: number, ctx = CTX, chunk?: number) =>
  collect(source(plain, chunk), encryptStream(KEY, ctx, { segmentSize }));

const decrypt = (stored: Buffer, opts: DecryptStreamOptions = {}, ctx = CTX, key = KEY) =>
  collect(source(stored), decryptStream(key, ctx, opts));

const stride = (seg: number) => seg + SEGMENT_TAG_BYTES;

describe('segmented cipher (LHCF, AES-256-GCM in segments)', () => {
  it.each([0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 17])(
    'round-trips %i bytes and the sizes agree',
    async (n) => {
      const plain = randomBytes(n);
      const stored = await encrypt(plain);
      expect(stored.length).toBe(encryptedSize(n));
      expect(plaintextSize(stored.length)).toBe(n);
      const h = parseSegmentHeader(stored);
      expect(h.segmentSize).toBe(DEFAULT_SEGMENT_SIZE);
      expect(stored.subarray(0, 4).toString()).toBe('LHCF');
      const back = await decrypt(stored);
      expect(back.equals(plain)).toBe(true);
    },
  );

  it('round-trips whatever the chunking of the input and uses a fresh salt per file', async () => {
    const plain = randomBytes(1000);
    for (const chunk of [1, 7, 64, 65, 1000]) {
      const stored = await encrypt(plain, 64, CTX, chunk);
      expect((await collect(source(stored, chunk), decryptStream(KEY, CTX))).equals(plain)).toBe(
        true,
      );
    }
    const a = await encrypt(plain, 64);
    const b = await encrypt(plain, 64);
    expect(a.subarray(SEGMENT_HEADER_BYTES).equals(b.subarray(SEGMENT_HEADER_BYTES))).toBe(false);
  });

  it('serves every plaintext range of a small file from the covering segments only', async () => {
    const seg = 16;
    for (const n of [1, 15, 16, 17, 40]) {
      const plain = randomBytes(n);
      const stored = await encrypt(plain, seg);
      const header = stored.subarray(0, SEGMENT_HEADER_BYTES);
      for (let a = 0; a < n; a++) {
        for (let b = a; b < n; b++) {
          const r = ciphertextRangeFor(a, b, n, seg);
          expect(r.start).toBe(SEGMENT_HEADER_BYTES + Math.floor(a / seg) * stride(seg));
          expect(r.end).toBeLessThan(stored.length);
          const got = await decrypt(stored.subarray(r.start, r.end + 1), { header, range: r });
          expect(got.equals(plain.subarray(a, b + 1))).toBe(true);
        }
      }
    }
  });

  it('maps ranges of a large file to few stored bytes', () => {
    const n = 250 * 1024 * 1024;
    const r = ciphertextRangeFor(100_000_000, 100_000_099, n);
    expect(r.end - r.start + 1).toBeLessThanOrEqual(2 * stride(DEFAULT_SEGMENT_SIZE));
    const last = ciphertextRangeFor(n - 1, n - 1, n);
    expect(last.end).toBe(encryptedSize(n) - 1);
    expect(() => ciphertextRangeFor(5, 4, 10)).toThrow(RangeError);
    expect(() => ciphertextRangeFor(0, 10, 10)).toThrow(RangeError);
  });

  it('refuses stored sizes no file can have', () => {
    expect(() => plaintextSize(SEGMENT_HEADER_BYTES + 15)).toThrow(SegmentIntegrityError);
    expect(() => plaintextSize(SEGMENT_HEADER_BYTES + stride(DEFAULT_SEGMENT_SIZE) + 3)).toThrow(
      SegmentIntegrityError,
    );
    expect(plaintextSize(encryptedSize(0))).toBe(0);
  });

  describe('detects tampering', () => {
    const seg = 32;
    let plain: Buffer;
    let stored: Buffer;
    beforeAll(async () => {
      plain = randomBytes(seg * 5 + 9); // 6 segments, the last one short
      stored = await encrypt(plain, seg);
    });

    it('a flipped byte anywhere (header, ciphertext, tag)', async () => {
      for (let i = 0; i < stored.length; i++) {
        const bad = Buffer.from(stored);
        bad[i] ^= 0x01;
        await expect(decrypt(bad)).rejects.toBeInstanceOf(SegmentIntegrityError);
      }
    });

    it('the file cut at every segment boundary and inside segments', async () => {
      for (let cut = 0; cut < stored.length; cut++) {
        await expect(decrypt(stored.subarray(0, cut))).rejects.toBeInstanceOf(
          SegmentIntegrityError,
        );
      }
      // Cut exactly at each boundary: every earlier segment is valid on its own.
      for (let s = 1; s <= 5; s++) {
        const cut = SEGMENT_HEADER_BYTES + s * stride(seg);
        await expect(decrypt(stored.subarray(0, cut))).rejects.toBeInstanceOf(
          SegmentIntegrityError,
        );
      }
    });

    it('bytes appended, segments swapped, a segment repeated', async () => {
      await expect(decrypt(Buffer.concat([stored, randomBytes(48)]))).rejects.toBeInstanceOf(
        SegmentIntegrityError,
      );
      const segAt = (i: number) =>
        stored.subarray(
          SEGMENT_HEADER_BYTES + i * stride(seg),
          SEGMENT_HEADER_BYTES + (i + 1) * stride(seg),
        );
      const head = stored.subarray(0, SEGMENT_HEADER_BYTES);
      const tail = stored.subarray(SEGMENT_HEADER_BYTES + 5 * stride(seg));
      const swapped = Buffer.concat([head, segAt(1), segAt(0), segAt(2), segAt(3), segAt(4), tail]);
      await expect(decrypt(swapped)).rejects.toBeInstanceOf(SegmentIntegrityError);
      const repeated = Buffer.concat([
        head,
        segAt(0),
        segAt(0),
        segAt(2),
        segAt(3),
        segAt(4),
        tail,
      ]);
      await expect(decrypt(repeated)).rejects.toBeInstanceOf(SegmentIntegrityError);
    });

    it('another context, another key, another file’s header', async () => {
      await expect(decrypt(stored, {}, 'lab:8|attachment:0b7f')).rejects.toBeInstanceOf(
        SegmentIntegrityError,
      );
      await expect(decrypt(stored, {}, CTX, randomBytes(32))).rejects.toBeInstanceOf(
        SegmentIntegrityError,
      );
      const other = await encrypt(plain, seg);
      const mixed = Buffer.concat([
        other.subarray(0, SEGMENT_HEADER_BYTES),
        stored.subarray(SEGMENT_HEADER_BYTES),
      ]);
      await expect(decrypt(mixed)).rejects.toBeInstanceOf(SegmentIntegrityError);
    });

    it('in range mode: a tampered segment, a short read, a range past the real end', async () => {
      const header = stored.subarray(0, SEGMENT_HEADER_BYTES);
      const r = ciphertextRangeFor(40, 100, plain.length, seg);
      const part = Buffer.from(stored.subarray(r.start, r.end + 1));
      expect((await decrypt(part, { header, range: r })).equals(plain.subarray(40, 101))).toBe(
        true,
      );
      const bad = Buffer.from(part);
      bad[bad.length - 1] ^= 1;
      await expect(decrypt(bad, { header, range: r })).rejects.toBeInstanceOf(
        SegmentIntegrityError,
      );
      await expect(
        decrypt(part.subarray(0, part.length - 1), { header, range: r }),
      ).rejects.toBeInstanceOf(SegmentIntegrityError);
      // A size that says segment 4 is the last one: it was not sealed as final.
      const lie = ciphertextRangeFor(0, seg * 5 - 1, seg * 5, seg);
      const lied = stored.subarray(lie.start, lie.end + 1);
      await expect(decrypt(lied, { header, range: lie })).rejects.toBeInstanceOf(
        SegmentIntegrityError,
      );
      await expect(
        decrypt(part, { header, range: r }, 'lab:8|attachment:0b7f'),
      ).rejects.toBeInstanceOf(SegmentIntegrityError);
    });
  });

  it('keeps memory bounded: each transform buffers about one segment', async () => {
    const seg = DEFAULT_SEGMENT_SIZE;
    const total = 32 * 1024 * 1024;
    let produced = 0;
    const src = new Readable({
      read() {
        if (produced >= total) return this.push(null);
        produced += 16 * 1024;
        this.push(randomBytes(16 * 1024));
      },
    });
    const enc = encryptStream(KEY, CTX);
    const dec = decryptStream(KEY, CTX);
    let received = 0;
    let maxQueued = 0;
    await pipeline(
      src,
      enc,
      dec,
      new Writable({
        highWaterMark: 64 * 1024,
        write(c: Buffer, _e, cb) {
          received += c.length;
          maxQueued = Math.max(
            maxQueued,
            enc.readableLength + enc.writableLength + dec.readableLength + dec.writableLength,
          );
          setImmediate(cb); // a slow consumer
        },
      }),
    );
    expect(received).toBe(total);
    expect(enc.peakBufferedBytes).toBeLessThanOrEqual(seg + 16 * 1024);
    expect(dec.peakBufferedBytes).toBeLessThanOrEqual(2 * stride(seg));
    expect(maxQueued).toBeLessThanOrEqual(6 * stride(seg));
  });
});
