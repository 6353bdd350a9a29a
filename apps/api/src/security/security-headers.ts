/**
 * The seed's security headers, sent by the app itself (not only by the
 * ingress): HSTS, no framing, no MIME sniffing, a strict referrer policy and
 * the seed's CSP (which the interactive docs at /docs need: inline script and
 * style from self). X-XSS-Protection is set to 0, as current guidance advises
 * (the old filter itself opened XSS holes).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-xss-protection': '0',
};

/** Answers that may hold PHI are never stored by browsers or proxies. */
export const NO_STORE = 'no-store';

export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'X-Lab-Id',
  'X-Request-Id',
  'traceparent',
  'Idempotency-Key',
  'If-Match',
  // The live feed's resume point (docs/events.md): fetch-based SSE clients in a portal send it.
  'Last-Event-ID',
];

export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'ETag',
  'Location',
];
