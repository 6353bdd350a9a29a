import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Env } from '@lhcms/config';

/*
 * STAND-IN (webhooks-delivery branch): the API helper's url-policy.ts is the
 * real one, with the same exports (the shared contract); on merge the lead
 * keeps theirs. This one implements enough of the policy for the delivery
 * client's connect-time check: loopback allowed outside production,
 * non-public ranges refused, HTTPS only in production.
 */

export interface WebhookUrlPolicy {
  httpsOnly: boolean;
  allowLoopback: boolean;
  allowlist: readonly string[];
}

export function webhookUrlPolicy(env: Env): WebhookUrlPolicy {
  const production = env.NODE_ENV === 'production';
  return { httpsOnly: production, allowLoopback: !production, allowlist: [] };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as its IPv4 form. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/** Whether one resolved address may be connected to (the delivery client calls it at connect time: DNS rebinding). */
export function addressAllowed(address: string, policy: WebhookUrlPolicy, host?: string): boolean {
  if (host && policy.allowlist.includes(host.toLowerCase())) return true;
  const a = unmapped(address);
  const family = isIP(a);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK.check(a, type)) return policy.allowLoopback;
  return !NOT_PUBLIC.check(a, type);
}

/** null when acceptable, else a short PHI-free reason. Resolves DNS and checks every address. */
export async function checkWebhookUrl(
  url: string,
  policy: WebhookUrlPolicy,
  resolve: (host: string) => Promise<string[]> = async (h) =>
    (await lookup(h, { all: true })).map((a) => a.address),
): Promise<string | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:' && (policy.httpsOnly || u.protocol !== 'http:')) {
    return 'must be https';
  }
  if (u.username || u.password) return 'credentials are not allowed in the URL';
  if (u.hash) return 'fragments are not allowed';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await resolve(host).catch(() => []);
  if (addresses.length === 0) return 'host does not resolve';
  return addresses.every((a) => addressAllowed(a, policy, host)) ? null : 'address not allowed';
}
