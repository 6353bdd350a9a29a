import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { addressAllowed, type WebhookUrlPolicy } from '../url-policy';

export const WEBHOOK_USER_AGENT = 'LHCMS-Webhooks/1';

/** What an attempt came to: a status code when the receiver answered, a short PHI-free error otherwise. */
export interface AttemptResult {
  delivered: boolean;
  statusCode: number | null;
  error: string | null;
}

export interface SendOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  policy: WebhookUrlPolicy;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
}

/**
 * The Standard Webhooks signature header: `v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">` with each secret (the current one, then the previous
 * one while it is unexpired), space-separated.
 */
export function signatureHeader(
  secrets: readonly string[],
  id: string,
  at: Date,
  body: string,
): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
}

class RefusedAddress extends Error {
  constructor() {
    super('address not allowed');
  }
}

/**
 * DNS at connect time, checked against the URL policy: the address the
 * socket connects to is the one checked, so a name that resolved to a public
 * address when the subscription was made and to a private one now (DNS
 * rebinding) is refused here.
 */
function checkedLookup(policy: WebhookUrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      if (
        addresses.length === 0 ||
        !addresses.every((a) => addressAllowed(a.address, policy, hostname))
      ) {
        return callback(new RefusedAddress(), '', 0);
      }
      if ((options as { all?: boolean }).all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      } else {
        callback(null, addresses[0].address, addresses[0].family);
      }
    });
  };
}

/** A short description of a transport failure, without the receiver's words (PHI-free by construction). */
function describe(err: unknown): string {
  if (err instanceof RefusedAddress) return 'address not allowed';
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case undefined:
      return 'request failed';
    default:
      return code.startsWith('ERR_TLS') || code.includes('CERT')
        ? `TLS error (${code})`.slice(0, 60)
        : `request failed (${code})`.slice(0, 60);
  }
}

/**
 * One POST of a delivery. Never follows a redirect (a 3xx is a failure),
 * connects only to addresses the URL policy allows (checked on the resolved
 * address), gives up after `timeoutMs` for the whole exchange, and reads at
 * most `maxResponseBytes` of the answer's body (then closes the connection:
 * a huge body is never buffered). The status code decides: 2xx is delivered.
 */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  o: SendOptions,
): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined = undefined; // set once the request is under way
    const done = (r: AttemptResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(r);
    };
    const fail = (error: string, statusCode: number | null = null): void =>
      done({ delivered: false, statusCode, error });

    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return fail('invalid URL');
    }
    if (u.protocol !== 'https:' && (o.policy.httpsOnly || u.protocol !== 'http:')) {
      return fail('scheme not allowed');
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    // An IP literal is connected to without a lookup: check it here.
    if (isIP(host) && !addressAllowed(host, o.policy, host)) return fail('address not allowed');

    const payload = Buffer.from(body, 'utf8');
    const client = u.protocol === 'https:' ? https : http;
    const req = client.request(u, {
      method: 'POST',
      agent: false,
      lookup: checkedLookup(o.policy),
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        'user-agent': WEBHOOK_USER_AGENT,
        connection: 'close',
      },
    });
    // Once the status line is in, a body that is slow to come changes nothing.
    let answered: AttemptResult | undefined;
    timer = setTimeout(() => {
      if (answered) done(answered);
      else fail('timeout');
      req.destroy();
    }, o.timeoutMs);
    timer.unref();

    o.signal?.addEventListener('abort', () => {
      fail('aborted');
      req.destroy();
    });
    req.on('error', (err) => (answered ? done(answered) : fail(describe(err))));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const outcome: AttemptResult =
        status >= 200 && status < 300
          ? { delivered: true, statusCode: status, error: null }
          : {
              delivered: false,
              statusCode: status,
              error:
                status >= 300 && status < 400
                  ? `redirect not followed (HTTP ${status})`
                  : `HTTP ${status}`,
            };
      answered = outcome;
      // The body is read (and dropped) up to the cap, then the connection is closed.
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > o.maxResponseBytes) {
          res.destroy();
          req.destroy();
          done(outcome);
        }
      });
      res.on('end', () => done(outcome));
      res.on('error', () => done(outcome));
      res.on('close', () => done(outcome));
    });
    req.end(payload);
  });
}
