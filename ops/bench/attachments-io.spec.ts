import { digestStream, multipartEnvelope, payloadSize, payloadStream } from './attachments-io';

describe('attachments bench payloads', () => {
  it('sizes are valid binary STL sizes just under the MiB asked for', () => {
    for (const mib of [200, 2, 0.25]) {
      const n = payloadSize(mib);
      expect((n - 84) % 50).toBe(0);
      expect(n).toBeLessThanOrEqual(mib * 2 ** 20);
      expect(mib * 2 ** 20 - n).toBeLessThan(50);
    }
  });

  it('streams the same bytes for the same seed, other bytes for another, with the STL header', async () => {
    const size = payloadSize(0.5);
    const a = await digestStream(payloadStream('s1', size));
    const b = await digestStream(payloadStream('s1', size));
    const c = await digestStream(payloadStream('s2', size));
    expect(a).toEqual(b);
    expect(a.bytes).toBe(size);
    expect(c.sha256).not.toBe(a.sha256);
    const chunks: Buffer[] = [];
    for await (const x of payloadStream('s1', size)) chunks.push(x as Buffer);
    const head = Buffer.concat(chunks).subarray(0, 84);
    expect(head.readUInt32LE(80)).toBe((size - 84) / 50);
    expect(head.toString('latin1', 0, 10)).toBe('binary stl');
    expect(() => payloadStream('s1', size + 1)).toThrow(/84 \+ 50/);
  });

  it('frames one file part and counts its length', () => {
    const e = multipartEnvelope('bench-small-1.stl', 1000);
    expect(e.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(e.head.toString()).toContain('name="file"; filename="bench-small-1.stl"');
    expect(e.contentLength).toBe(e.head.length + 1000 + e.tail.length);
  });
});
