import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Streaming authenticated encryption of large files (attachments), in the
 * "LHCF" segmented format (docs/adr/0012-attachment-storage.md):
 *
 *   header (32 bytes)
 *     0..3   magic 'LHCF'
 *     4      format version (1)
 *     5..7   reserved, zero
 *     8..11  plaintext segment size, uint32 big-endian (64 KiB by default)
 *     12..27 salt: 16 random bytes, fresh for every file
 *     28..31 reserved, zero
 *   segment 0 .. n-1
 *     ciphertext of `segment size` plaintext bytes (the last one: 0..segment size) || 16-byte GCM tag
 *
 * The per-file key and nonce prefix come from HKDF-SHA256(data key, salt,
 * 'lhcms:attachment-segments:v1') → 32-byte AES-256-GCM key || 8-byte nonce
 * prefix; segment i's nonce is prefix || uint32be(i). Every segment's AAD is
 * header || context || uint32be(i) || final flag (1 on the last segment, 0
 * before), so a tampered byte, a swapped or repeated segment, a file cut at
 * a segment boundary, another file's header or another context (lab,
 * attachment) all fail authentication. A file always has at least one
 * segment (an empty file is the header and one empty final segment).
 *
 * Plaintext is released only after its segment's tag has been verified.
 */
export const SEGMENT_MAGIC = 'LHCF';
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const SEGMENT_TAG_BYTES = 16;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
/** Segment sizes accepted in a header: 16 bytes (tests) to 16 MiB. */
const MIN_SEGMENT_SIZE = 16;
const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
const SALT_BYTES = 16;
const MAX_SEGMENTS = 0xffff_ffff;
const HKDF_INFO = 'lhcms:attachment-segments:v1';

/** The stored bytes are not what was encrypted under this key and context (tampered, cut, reordered, foreign). */
export class SegmentIntegrityError extends Error {}

export interface SegmentedCipherOptions {
  /** Plaintext bytes per segment; DEFAULT_SEGMENT_SIZE unless a test wants small ones. */
  segmentSize?: number;
}

/** A plaintext range mapped onto the stored (encrypted) object; see ciphertextRangeFor. */
export interface CiphertextRange {
  /** First stored byte to read (a segment start, past the header). */
  start: number;
  /** Last stored byte to read, inclusive. */
  end: number;
  firstSegment: number;
  lastSegment: number;
  /** Plaintext bytes of firstSegment before the range begins. */
  skip: number;
  /** Plaintext bytes in the range. */
  length: number;
  /** Plaintext size of the whole file (tells which segment is the final one). */
  plainSize: number;
  segmentSize: number;
}

export interface DecryptStreamOptions extends SegmentedCipherOptions {
  /**
   * Range mode: the input is the stored bytes [range.start, range.end] only,
   * `header` (the object's first SEGMENT_HEADER_BYTES bytes, read separately)
   * is required, and the output is the plaintext of the range. Without a
   * range the input is the whole stored object, header first.
   */
  range?: CiphertextRange;
  header?: Buffer;
}

function checkSegmentSize(size: number): number {
  if (!Number.isInteger(size) || size < MIN_SEGMENT_SIZE || size > MAX_SEGMENT_SIZE)
    throw new RangeError(
      `segment size must be an integer in [${MIN_SEGMENT_SIZE}, ${MAX_SEGMENT_SIZE}]`,
    );
  return size;
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${what} must be a non-negative integer`);
}

function segmentCount(plainSize: number, segmentSize: number): number {
  return plainSize === 0 ? 1 : Math.ceil(plainSize / segmentSize);
}

/** Stored size of a file of `plainSize` bytes. */
export function encryptedSize(plainSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  checkSize(plainSize, 'plainSize');
  checkSegmentSize(segmentSize);
  return (
    SEGMENT_HEADER_BYTES + plainSize + segmentCount(plainSize, segmentSize) * SEGMENT_TAG_BYTES
  );
}

/** Plaintext size of a stored object of `storedSize` bytes; SegmentIntegrityError when no file has that size. */
export function plaintextSize(storedSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  checkSize(storedSize, 'storedSize');
  checkSegmentSize(segmentSize);
  const body = storedSize - SEGMENT_HEADER_BYTES;
  if (body < SEGMENT_TAG_BYTES) throw new SegmentIntegrityError('stored object too short');
  const stride = segmentSize + SEGMENT_TAG_BYTES;
  const full = Math.floor(body / stride);
  const rest = body % stride;
  if (rest === 0) return full * segmentSize;
  if (rest < SEGMENT_TAG_BYTES) throw new SegmentIntegrityError('stored object has a torn segment');
  return full * segmentSize + rest - SEGMENT_TAG_BYTES;
}

/**
 * The stored bytes that hold the plaintext bytes [plainStart, plainEnd]
 * (inclusive) of a file of plainSize bytes, and how to cut the decrypted
 * segments back to that range. Only the covering segments are read.
 */
export function ciphertextRangeFor(
  plainStart: number,
  plainEnd: number,
  plainSize: number,
  segmentSize = DEFAULT_SEGMENT_SIZE,
): CiphertextRange {
  checkSize(plainStart, 'plainStart');
  checkSize(plainEnd, 'plainEnd');
  checkSize(plainSize, 'plainSize');
  checkSegmentSize(segmentSize);
  if (plainStart > plainEnd || plainEnd >= plainSize)
    throw new RangeError('range must satisfy 0 <= start <= end < plainSize');
  const stride = segmentSize + SEGMENT_TAG_BYTES;
  const firstSegment = Math.floor(plainStart / segmentSize);
  const lastSegment = Math.floor(plainEnd / segmentSize);
  const finalIndex = segmentCount(plainSize, segmentSize) - 1;
  const lastLen = lastSegment < finalIndex ? segmentSize : plainSize - finalIndex * segmentSize;
  return {
    start: SEGMENT_HEADER_BYTES + firstSegment * stride,
    end: SEGMENT_HEADER_BYTES + lastSegment * stride + lastLen + SEGMENT_TAG_BYTES - 1,
    firstSegment,
    lastSegment,
    skip: plainStart - firstSegment * segmentSize,
    length: plainEnd - plainStart + 1,
    plainSize,
    segmentSize,
  };
}

export interface SegmentHeader {
  version: number;
  segmentSize: number;
  salt: Buffer;
}

/** Parses and checks a stored object's header; SegmentIntegrityError when it is not one. */
export function parseSegmentHeader(header: Buffer): SegmentHeader {
  if (header.length < SEGMENT_HEADER_BYTES) throw new SegmentIntegrityError('header too short');
  if (header.toString('latin1', 0, 4) !== SEGMENT_MAGIC)
    throw new SegmentIntegrityError('not an encrypted attachment');
  const version = header[4];
  if (version !== SEGMENT_FORMAT_VERSION)
    throw new SegmentIntegrityError('unsupported format version');
  if (header.readUIntBE(5, 3) !== 0 || header.readUInt32BE(28) !== 0)
    throw new SegmentIntegrityError('reserved header bytes are not zero');
  const segmentSize = header.readUInt32BE(8);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE)
    throw new SegmentIntegrityError('bad segment size');
  return { version, segmentSize, salt: Buffer.from(header.subarray(12, 12 + SALT_BYTES)) };
}

function makeHeader(segmentSize: number, salt: Buffer): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.write(SEGMENT_MAGIC, 0, 'latin1');
  h[4] = SEGMENT_FORMAT_VERSION;
  h.writeUInt32BE(segmentSize, 8);
  salt.copy(h, 12);
  return h;
}

function checkKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== 32) throw new RangeError('key must be 32 bytes');
}

/** Per-file key material and the AAD prefix shared by all segments. */
class FileKeys {
  readonly key: KeyObject;
  private readonly noncePrefix: Buffer;
  private readonly aadPrefix: Buffer;

  constructor(dataKey: Buffer, header: Buffer, context: string) {
    const salt = header.subarray(12, 12 + SALT_BYTES);
    const okm = Buffer.from(hkdfSync('sha256', dataKey, salt, HKDF_INFO, 40));
    this.key = createSecretKey(okm.subarray(0, 32));
    this.noncePrefix = Buffer.from(okm.subarray(32, 40));
    okm.fill(0);
    this.aadPrefix = Buffer.concat([
      header.subarray(0, SEGMENT_HEADER_BYTES),
      Buffer.from(context, 'utf8'),
    ]);
  }

  nonce(index: number): Buffer {
    const n = Buffer.alloc(12);
    this.noncePrefix.copy(n, 0);
    n.writeUInt32BE(index, 8);
    return n;
  }

  aad(index: number, final: boolean): Buffer {
    const tail = Buffer.alloc(5);
    tail.writeUInt32BE(index, 0);
    tail[4] = final ? 1 : 0;
    return Buffer.concat([this.aadPrefix, tail]);
  }
}

/** A FIFO of chunks from which exact byte counts are taken without re-copying everything. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;
  /** Largest `length` ever held (a diagnostic for the memory-bound tests). */
  peak = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
    if (this.length > this.peak) this.peak = this.length;
  }

  take(n: number): Buffer {
    const parts = this.slices(n);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }

  /**
   * The next `n` bytes as views of the queued chunks (no copy): a cipher
   * takes them one after the other, so a segment is never gathered into a
   * buffer of its own. Every copy of a 64 KiB segment is memory the garbage
   * collector has to chase; a file is otherwise copied several times over.
   */
  slices(n: number): Buffer[] {
    if (n > this.length) throw new Error('ByteQueue underflow');
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const head = this.chunks[0];
      if (head.length <= left) {
        out.push(head);
        left -= head.length;
        this.chunks.shift();
      } else {
        out.push(head.subarray(0, left));
        this.chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.length -= n;
    return out;
  }
}

/** A Transform that also reports the most bytes it buffered itself (tests assert it stays ~1 segment). */
export interface SegmentTransform extends Transform {
  readonly peakBufferedBytes: number;
}

function withPeak(t: Transform, q: ByteQueue): SegmentTransform {
  Object.defineProperty(t, 'peakBufferedBytes', { get: () => q.peak, enumerable: false });
  return t as SegmentTransform;
}

/**
 * Encrypts a plaintext stream into the LHCF format. Holds at most one
 * segment plus the chunk being written; `aad` is the caller's context (for
 * attachments: lab id and attachment id) and must be given again to decrypt.
 */
export function encryptStream(
  key: Buffer,
  aad: string,
  options: SegmentedCipherOptions = {},
): SegmentTransform {
  checkKey(key);
  const segmentSize = checkSegmentSize(options.segmentSize ?? DEFAULT_SEGMENT_SIZE);
  const header = makeHeader(segmentSize, randomBytes(SALT_BYTES));
  const keys = new FileKeys(key, header, aad);
  const q = new ByteQueue();
  let index = 0;
  let headerSent = false;

  /** Encrypts one segment (given as consecutive views) straight into the output: no gathered copy. */
  const seal = (t: Transform, plain: Buffer[], final: boolean): void => {
    if (index >= MAX_SEGMENTS) throw new RangeError('file too large for the segment counter');
    const c = createCipheriv('aes-256-gcm', keys.key, keys.nonce(index));
    c.setAAD(keys.aad(index, final));
    for (const part of plain) {
      const out = c.update(part);
      if (out.length > 0) t.push(out);
    }
    const rest = c.final();
    t.push(rest.length > 0 ? Buffer.concat([rest, c.getAuthTag()]) : c.getAuthTag());
    index++;
  };

  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (!headerSent) {
          this.push(header);
          headerSent = true;
        }
        q.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        // Keep the last (possibly full) segment back: only the end of input says it is final.
        while (q.length > segmentSize) seal(this, q.slices(segmentSize), false);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!headerSent) this.push(header);
        seal(this, q.slices(q.length), true);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  return withPeak(t, q);
}

/**
 * Decrypts an LHCF stream. Whole-object mode reads the header from the
 * input; range mode (options.range from ciphertextRangeFor, options.header
 * read separately) decrypts only the covering segments and emits exactly the
 * requested plaintext bytes. Any failed tag, a cut or over-long input, a
 * foreign header or a mismatched context ends the stream with a
 * SegmentIntegrityError; no byte of an unverified segment is emitted.
 */
export function decryptStream(
  key: Buffer,
  aad: string,
  options: DecryptStreamOptions = {},
): SegmentTransform {
  checkKey(key);
  const range = options.range;
  if (range && !options.header) throw new TypeError('range mode needs the header');
  const expectedSegmentSize =
    options.segmentSize !== undefined ? checkSegmentSize(options.segmentSize) : range?.segmentSize;
  const q = new ByteQueue();
  let keys: FileKeys | undefined;
  let segmentSize = 0;
  let index = range ? range.firstSegment : 0;
  // Range mode: the final segment's index and how many stored bytes are still expected.
  const finalIndex = range ? segmentCount(range.plainSize, range.segmentSize) - 1 : -1;
  let remainingInput = range ? range.end - range.start + 1 : Infinity;
  let skip = range ? range.skip : 0;
  let toEmit = range ? range.length : Infinity;

  const begin = (header: Buffer): void => {
    const h = parseSegmentHeader(header);
    if (expectedSegmentSize !== undefined && h.segmentSize !== expectedSegmentSize)
      throw new SegmentIntegrityError('segment size differs from the expected one');
    segmentSize = h.segmentSize;
    keys = new FileKeys(key, header, aad);
  };
  if (options.header) begin(options.header);

  /**
   * Authenticates and decrypts the next stored segment of `len` bytes (its
   * ciphertext and tag, taken from the queue as views: no gathered copy),
   * and emits its plaintext only once the tag checked out.
   */
  const open = (t: Transform, len: number, final: boolean): void => {
    if (!keys) throw new SegmentIntegrityError('no header');
    if (len < SEGMENT_TAG_BYTES) throw new SegmentIntegrityError('segment cut short');
    const ct = q.slices(len - SEGMENT_TAG_BYTES);
    const d = createDecipheriv('aes-256-gcm', keys.key, keys.nonce(index));
    d.setAAD(keys.aad(index, final));
    d.setAuthTag(q.take(SEGMENT_TAG_BYTES));
    const plain: Buffer[] = [];
    try {
      for (const part of ct) plain.push(d.update(part));
      plain.push(d.final());
    } catch {
      throw new SegmentIntegrityError(`segment ${index} failed authentication`);
    }
    index++;
    for (let out of plain) {
      if (skip > 0) {
        const s = Math.min(skip, out.length);
        out = out.subarray(s);
        skip -= s;
      }
      if (toEmit !== Infinity) {
        if (out.length > toEmit) out = out.subarray(0, toEmit);
        toEmit -= out.length;
      }
      if (out.length > 0) t.push(out);
    }
  };

  const stride = (): number => segmentSize + SEGMENT_TAG_BYTES;

  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        if (range) {
          if (b.length > remainingInput)
            throw new SegmentIntegrityError('more bytes than the range holds');
          remainingInput -= b.length;
        }
        q.push(b);
        if (!keys) {
          if (q.length < SEGMENT_HEADER_BYTES) return cb();
          begin(q.take(SEGMENT_HEADER_BYTES));
        }
        if (range) {
          // Segment lengths are known: the final one is the plaintext's tail.
          for (;;) {
            const final = index === finalIndex;
            const len = final
              ? range.plainSize - finalIndex * segmentSize + SEGMENT_TAG_BYTES
              : stride();
            if (index > range.lastSegment || q.length < len) break;
            open(this, len, final);
          }
        } else {
          // Keep one segment back: only the end of input says which one is final.
          while (q.length > stride()) open(this, stride(), false);
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!keys) throw new SegmentIntegrityError('stored object too short');
        if (range) {
          if (remainingInput !== 0 || q.length !== 0 || index !== range.lastSegment + 1)
            throw new SegmentIntegrityError('range cut short');
        } else {
          open(this, q.length, true);
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  return withPeak(t, q);
}
