import { loadEnv } from '@lhcms/config';
import { AuditViewCodec } from './audit-view';

const SECRET = 'a'.repeat(40);
const codec = (secret = SECRET) => new AuditViewCodec(loadEnv({ SECRET_KEY: secret }));
const boundary = { occurredAt: '2026-12-07T09:00:00.123456Z', seq: '987654' };

describe('AuditViewCodec', () => {
  it('gives each seq a stable opaque id that does not contain it', () => {
    const c = codec();
    expect(c.eventId('987654')).toMatch(/^[0-9a-f]{32}$/);
    expect(c.eventId('987654')).toBe(codec().eventId('987654'));
    expect(c.eventId('987654')).not.toBe(c.eventId('987655'));
    expect(c.eventId('987654')).not.toContain('987654');
    expect(codec('b'.repeat(40)).eventId('987654')).not.toBe(c.eventId('987654'));
  });

  it('round-trips a cursor for its lab only; the seq is not readable in it', () => {
    const c = codec();
    const cursor = c.encodeCursor('lab-1', boundary);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('987654');
    expect(c.decodeCursor('lab-1', cursor)).toEqual(boundary);
    expect(c.decodeCursor('lab-2', cursor)).toBeUndefined();
    expect(codec('b'.repeat(40)).decodeCursor('lab-1', cursor)).toBeUndefined();
  });

  it('refuses altered, truncated and foreign cursors', () => {
    const c = codec();
    const cursor = c.encodeCursor('lab-1', boundary);
    const raw = Buffer.from(cursor, 'base64url');
    raw[14] ^= 1;
    expect(c.decodeCursor('lab-1', raw.toString('base64url'))).toBeUndefined();
    expect(c.decodeCursor('lab-1', cursor.slice(0, 30))).toBeUndefined();
    const legacy = Buffer.from(`${boundary.occurredAt}|${boundary.seq}`).toString('base64url');
    expect(c.decodeCursor('lab-1', legacy)).toBeUndefined();
  });
});
