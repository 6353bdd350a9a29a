import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Env } from '@lhcms/config';

/**
 * The outbound URL policy of webhooks (docs/events.md, "URL policy"; ADR
 * webhooks-api): where LHCMS may send a lab's events. Checked when a
 * subscription is made or its URL changed (`checkWebhookUrl`, a 400 with the
 * reason), and again by the delivery client on every address it connects to
 * (`addressAllowed`), so a name that resolved to a public address at
 * subscribe time and to a private one later (DNS rebinding) is still refused.
 *
 * Only public unicast addresses are acceptable: private (RFC 1918), shared
 * (CGNAT 100.64/10), loopback, link-local (with the cloud metadata address
 * 169.254.169.254), unique-local, unspecified, multicast, broadcast,
 * documentation, benchmarking and reserved ranges are refused, also when
 * written as an IPv6 form that carries an IPv4 address (IPv4-mapped
 * `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) — unless allowlisted (`WEBHOOK_ALLOWED_HOSTS`: host names or
 * CIDRs). Loopback is allowed outside production, so that a developer (and
 * the tests) can point a webhook at a receiver on 127.0.0.1.
 */
export interface WebhookUrlPolicy {
  /** Only `https:` URLs (production). */
  httpsOnly: boolean;
  /** Loopback addresses (127/8, ::1) allowed (outside production). */
  allowLoopback: boolean;
  /** Host names (exact, case-insensitive) and CIDRs (or single addresses) allowed whatever they are. */
  allowlist: readonly string[];
}

/** The policy of a deployment: HTTPS only and no loopback in production; WEBHOOK_ALLOWED_HOSTS. */
export function webhookUrlPolicy(env: Env): WebhookUrlPolicy {
  return {
    httpsOnly: env.isProduction,
    allowLoopback: !env.isProduction,
    allowlist: env.WEBHOOK_ALLOWED_HOSTS,
  };
}

/** The longest URL a subscription may have (the column's CHECK). */
export const WEBHOOK_URL_MAX_LENGTH = 2048;

/** How long a subscribe-time DNS lookup may take before the URL is refused. */
const RESOLVE_TIMEOUT_MS = 5_000;

export const URL_REASONS = {
  notUrl: 'is not an absolute http(s) URL',
  tooLong: `is too long (at most ${WEBHOOK_URL_MAX_LENGTH} characters)`,
  scheme: 'must use http or https',
  httpsOnly: 'must use https',
  credentials: 'must not contain credentials (user or password)',
  fragment: 'must not contain a fragment (#…)',
  address:
    'points at a non-public address (private, loopback, link-local, metadata, multicast or reserved); ask the operator to allowlist it (WEBHOOK_ALLOWED_HOSTS)',
  resolvesTo:
    'has a host name that resolves to a non-public address (private, loopback, link-local, metadata, multicast or reserved); ask the operator to allowlist it (WEBHOOK_ALLOWED_HOSTS)',
  unresolved: 'has a host name that does not resolve',
} as const;

type AddressClass = 'public' | 'loopback' | 'refused';

/** IPv4 ranges that are never a public unicast receiver (IANA special-purpose registry), loopback apart. */
const V4_REFUSED: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network", the unspecified address
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space (CGNAT, RFC 6598)
  ['169.254.0.0', 16], // link-local, including the metadata address 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including the broadcast address 255.255.255.255
];
const V4_LOOPBACK = new BlockList();
V4_LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
const V4_BLOCKED = new BlockList();
for (const [net, prefix] of V4_REFUSED) V4_BLOCKED.addSubnet(net, prefix, 'ipv4');

/**
 * IPv6 ranges refused inside global unicast (2000::/3; everything outside it
 * — unspecified, loopback apart, unique-local fc00::/7, link-local fe80::/10,
 * site-local, multicast ff00::/8, discard 100::/64, local-use NAT64
 * 64:ff9b:1::/48 — is refused anyway).
 */
const V6_REFUSED_IN_GLOBAL: ReadonlyArray<[string, number]> = [
  ['2001::', 23], // IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID…)
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
];
const V6_GLOBAL = new BlockList();
V6_GLOBAL.addSubnet('2000::', 3, 'ipv6');
const V6_BLOCKED = new BlockList();
for (const [net, prefix] of V6_REFUSED_IN_GLOBAL) V6_BLOCKED.addSubnet(net, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined. */
function v6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1].split('.').map(Number);
    text =
      text.slice(0, -dotted[1].length) +
      `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms
 * that carry one: IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96 (other
 * than :: and ::1), NAT64 64:ff9b::/96 and 6to4 2002::/16.
 */
function embeddedV4(g: number[]): string | undefined {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4Of(g[6], g[7]);
  if (zero(0, 6) && !(g[6] === 0 && g[7] <= 1)) return v4Of(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4Of(g[6], g[7]);
  if (g[0] === 0x2002) return v4Of(g[1], g[2]);
  return undefined;
}

function classifyV4(address: string): AddressClass {
  if (V4_LOOPBACK.check(address, 'ipv4')) return 'loopback';
  return V4_BLOCKED.check(address, 'ipv4') ? 'refused' : 'public';
}

/** What an IP address is, for the policy; anything that is not an IP address is refused. */
function classify(address: string): AddressClass {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(address);
  if (family !== 6) return 'refused';
  const g = v6Groups(address);
  if (!g || g.length !== 8) return 'refused';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  const v4 = embeddedV4(g);
  if (v4 !== undefined) return classifyV4(v4);
  const canonical = g.map((x) => x.toString(16)).join(':');
  if (!V6_GLOBAL.check(canonical, 'ipv6')) return 'refused';
  return V6_BLOCKED.check(canonical, 'ipv6') ? 'refused' : 'public';
}

/** A host name as compared with the allowlist: lower case, no trailing dot, no IPv6 brackets. */
function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
}

interface Allowlist {
  names: ReadonlySet<string>;
  v4: BlockList;
  v6: BlockList;
}

const allowlists = new WeakMap<readonly string[], Allowlist>();

/** The allowlist of a policy, parsed once: CIDRs (or single addresses) and host names. */
function allowlistOf(policy: WebhookUrlPolicy): Allowlist {
  let parsed = allowlists.get(policy.allowlist);
  if (parsed) return parsed;
  const names = new Set<string>();
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const raw of policy.allowlist) {
    const entry = raw.trim();
    const [net, bits] = entry.split('/');
    const family = isIP(net);
    if (family === 0) {
      if (bits === undefined && entry !== '') names.add(normalHost(entry));
      continue;
    }
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) continue;
    (family === 4 ? v4 : v6).addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  parsed = { names, v4, v6 };
  allowlists.set(policy.allowlist, parsed);
  return parsed;
}

function allowlisted(address: string, list: Allowlist): boolean {
  const plain = address.replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 4) return list.v4.check(plain, 'ipv4');
  if (family !== 6) return false;
  if (list.v6.check(plain, 'ipv6')) return true;
  const g = v6Groups(plain);
  const v4 = g ? embeddedV4(g) : undefined;
  return v4 !== undefined && list.v4.check(v4, 'ipv4');
}

/**
 * Whether one resolved address may be connected to: a public unicast
 * address, loopback when the policy allows it, or anything the allowlist
 * names (by CIDR, or by the host name the address was resolved for).
 */
export function addressAllowed(address: string, policy: WebhookUrlPolicy, host?: string): boolean {
  const list = allowlistOf(policy);
  if (host !== undefined && list.names.has(normalHost(host))) return true;
  if (allowlisted(address, list)) return true;
  const kind = classify(address);
  return kind === 'public' || (kind === 'loopback' && policy.allowLoopback);
}

async function systemResolve(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** The addresses of a name, or undefined when it does not resolve (in time). */
async function resolveWithin(
  host: string,
  resolve: (host: string) => Promise<string[]>,
): Promise<string[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), RESOLVE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const found = await Promise.race([resolve(host).catch(() => undefined), timeout]);
    return found && found.length > 0 ? found : undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * null when the URL is acceptable, else a short reason without the URL (for
 * the 400 of a subscribe or an update). An IP literal is checked as written
 * after WHATWG URL parsing, which turns the decimal, octal and hexadecimal
 * IPv4 forms (`http://2130706433/`, `http://0x7f.1/`) into dotted quads; a
 * host name is resolved and every address it has must be allowed (a name on
 * the allowlist is not resolved).
 */
export async function checkWebhookUrl(
  url: string,
  policy: WebhookUrlPolicy,
  resolve: (host: string) => Promise<string[]> = systemResolve,
): Promise<string | null> {
  if (url.length > WEBHOOK_URL_MAX_LENGTH) return URL_REASONS.tooLong;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return URL_REASONS.notUrl;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return URL_REASONS.scheme;
  if (policy.httpsOnly && parsed.protocol !== 'https:') return URL_REASONS.httpsOnly;
  if (parsed.username !== '' || parsed.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(url))
    return URL_REASONS.credentials;
  if (url.includes('#')) return URL_REASONS.fragment;
  const host = normalHost(parsed.hostname);
  if (host === '') return URL_REASONS.notUrl;
  if (isIP(host) !== 0) return addressAllowed(host, policy) ? null : URL_REASONS.address;
  if (allowlistOf(policy).names.has(host)) return null;
  const addresses = await resolveWithin(host, resolve);
  if (!addresses) return URL_REASONS.unresolved;
  return addresses.every((a) => addressAllowed(a, policy, host)) ? null : URL_REASONS.resolvesTo;
}
