/** A checksum was sent but is not a SHA-256. */
export const INVALID = 'invalid';

/**
 * The SHA-256 a client says its file has, as lowercase hex, from (in this
 * order) a `sha256` form field (hex or base64), `Content-Digest: sha-256=:…:`
 * (RFC 9530) or the older `Digest: SHA-256=…` (RFC 3230). On this route the
 * digest headers are taken to name the file, not the multipart envelope
 * (docs/api.md). Undefined when none was sent; `invalid` when one was sent
 * but is not a SHA-256.
 */
export function claimedSha256(
  field: string | undefined,
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  if (field !== undefined) return normalise(field.trim());
  const contentDigest = header(headers['content-digest']);
  if (contentDigest !== undefined) {
    const m = /(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/=]+):/i.exec(contentDigest);
    return m ? fromBase64(m[1]) : 'invalid';
  }
  const digest = header(headers.digest);
  if (digest !== undefined) {
    const m = /(?:^|,)\s*sha-256\s*=\s*([A-Za-z0-9+/=]+)/i.exec(digest);
    return m ? fromBase64(m[1]) : 'invalid';
  }
  return undefined;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

function normalise(v: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  return fromBase64(v);
}

function fromBase64(v: string): string {
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(v)) return 'invalid';
  const b = Buffer.from(v, 'base64');
  return b.length === 32 ? b.toString('hex') : 'invalid';
}
