import { createHash } from 'node:crypto';
import { claimedSha256 } from './checksum';

const hex = createHash('sha256').update('abc').digest('hex');
const b64 = Buffer.from(hex, 'hex').toString('base64');

describe('claimedSha256', () => {
  it('reads a hex or base64 field', () => {
    expect(claimedSha256(hex.toUpperCase(), {})).toBe(hex);
    expect(claimedSha256(b64, {})).toBe(hex);
  });

  it('reads Content-Digest and Digest', () => {
    expect(claimedSha256(undefined, { 'content-digest': `sha-512=:x:, sha-256=:${b64}:` })).toBe(
      hex,
    );
    expect(claimedSha256(undefined, { digest: `SHA-256=${b64}` })).toBe(hex);
  });

  it('nothing sent: undefined; not a SHA-256: invalid', () => {
    expect(claimedSha256(undefined, {})).toBeUndefined();
    expect(claimedSha256('abc', {})).toBe('invalid');
    expect(claimedSha256(undefined, { 'content-digest': 'sha-512=:AAAA:' })).toBe('invalid');
    expect(claimedSha256(undefined, { digest: 'SHA-256=AAAA' })).toBe('invalid');
  });
});
