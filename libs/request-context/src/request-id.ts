import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

type Headers = Record<string, string | string[] | undefined>;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The request id: a valid inbound `X-Request-Id` (8–128 of [A-Za-z0-9._:-]),
 * else the trace id of a valid W3C `traceparent`, else a new UUID. Anything
 * else is ignored, so a client cannot inject log lines or huge values.
 */
export function requestIdFrom(headers: Headers): string {
  const rid = first(headers['x-request-id'])?.trim();
  if (rid && REQUEST_ID.test(rid)) return rid;
  const tp = first(headers['traceparent'])?.trim().toLowerCase();
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (m && !/^0+$/.test(m[1])) return m[1];
  return randomUUID();
}
