import { loadEnv } from '@lhcms/config';
import {
  addressAllowed,
  checkWebhookUrl,
  URL_REASONS,
  type WebhookUrlPolicy,
  webhookUrlPolicy,
} from './url-policy';

/** Production-like: no loopback, http allowed so the address rules are what is tested. */
const STRICT: WebhookUrlPolicy = { httpsOnly: false, allowLoopback: false, allowlist: [] };
const DEV: WebhookUrlPolicy = { httpsOnly: false, allowLoopback: true, allowlist: [] };
const PROD: WebhookUrlPolicy = { httpsOnly: true, allowLoopback: false, allowlist: [] };

/** A resolver that knows only the given names (anything else: ENOTFOUND). */
function dns(records: Record<string, string[]>) {
  const asked: string[] = [];
  const resolve = (host: string): Promise<string[]> => {
    asked.push(host);
    const found = records[host];
    return found ? Promise.resolve(found) : Promise.reject(new Error(`ENOTFOUND ${host}`));
  };
  return Object.assign(resolve, { asked });
}
const noDns = dns({});

describe('webhook URL policy', () => {
  describe('the policy of a deployment', () => {
    const base = { JWT_SECRET_KEY: 'x'.repeat(32), SECRET_KEY: 'y'.repeat(32) };
    it('outside production: http allowed, loopback allowed, the allowlist from WEBHOOK_ALLOWED_HOSTS', () => {
      const env = loadEnv({
        ...base,
        NODE_ENV: 'development',
        WEBHOOK_ALLOWED_HOSTS: 'hooks.internal, 10.1.0.0/16 ,fd00::/8',
      });
      expect(webhookUrlPolicy(env)).toEqual({
        httpsOnly: false,
        allowLoopback: true,
        allowlist: ['hooks.internal', '10.1.0.0/16', 'fd00::/8'],
      });
    });

    it('an allowlist entry that is neither a host name nor an address or CIDR stops the configuration', () => {
      for (const bad of [
        '10.0.0.0/33',
        'http://x',
        '10.0.0.1/8/1',
        'a b',
        '-x.example',
        'fd00::/129',
      ])
        expect(() =>
          loadEnv({ ...base, NODE_ENV: 'development', WEBHOOK_ALLOWED_HOSTS: bad }),
        ).toThrow(/WEBHOOK_ALLOWED_HOSTS/);
    });
  });

  describe('addresses', () => {
    it.each([
      ['10.0.0.1', 'private 10/8'],
      ['172.16.5.4', 'private 172.16/12'],
      ['172.31.255.255', 'private 172.16/12, its end'],
      ['192.168.1.1', 'private 192.168/16'],
      ['169.254.169.254', 'the cloud metadata address'],
      ['169.254.0.1', 'link-local'],
      ['100.64.0.1', 'shared address space (CGNAT)'],
      ['100.127.255.254', 'CGNAT, its end'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', '"this network"'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast (SSDP)'],
      ['255.255.255.255', 'broadcast'],
      ['240.0.0.1', 'reserved'],
      ['192.0.2.10', 'documentation'],
      ['198.18.0.1', 'benchmarking'],
      ['127.0.0.1', 'loopback (refused without allowLoopback)'],
      ['127.8.9.10', 'loopback 127/8'],
      ['::1', 'IPv6 loopback'],
      ['::', 'IPv6 unspecified'],
      ['fc00::1', 'unique-local fc00::/7'],
      ['fd12:3456::1', 'unique-local fd00::/8'],
      ['fe80::1', 'link-local'],
      ['fe80::1%eth0', 'link-local with a zone'],
      ['ff02::1', 'IPv6 multicast'],
      ['::ffff:10.0.0.1', 'IPv4-mapped private, dotted'],
      ['::ffff:a00:1', 'IPv4-mapped private, hex'],
      ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
      ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
      ['::10.0.0.1', 'IPv4-compatible private'],
      ['64:ff9b::a00:1', 'NAT64 of a private address'],
      ['64:ff9b::169.254.169.254', 'NAT64 of the metadata address'],
      ['64:ff9b:1::1', 'local-use NAT64'],
      ['2002:a00:1::1', '6to4 of a private address'],
      ['2001:db8::1', 'IPv6 documentation'],
      ['2001::1', 'Teredo'],
      ['100::1', 'discard-only'],
      ['not-an-address', 'not an address at all'],
    ])('refuses %s (%s)', (address) => {
      expect(addressAllowed(address, STRICT)).toBe(false);
    });

    it.each([
      ['93.184.215.14', 'public IPv4'],
      ['8.8.8.8', 'public IPv4'],
      ['172.32.0.1', 'just past 172.16/12'],
      ['100.128.0.1', 'just past CGNAT'],
      ['2606:4700::6810:84e5', 'public IPv6'],
      ['::ffff:8.8.8.8', 'IPv4-mapped public'],
      ['64:ff9b::808:808', 'NAT64 of a public address'],
      ['2002:808:808::1', '6to4 of a public address'],
    ])('accepts %s (%s)', (address) => {
      expect(addressAllowed(address, STRICT)).toBe(true);
    });

    it('allows loopback (and only loopback) when the policy does, in every form', () => {
      for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1'])
        expect(addressAllowed(a, DEV)).toBe(true);
      for (const a of ['10.0.0.1', '169.254.169.254', '::ffff:a00:1', 'fd00::1', '0.0.0.0'])
        expect(addressAllowed(a, DEV)).toBe(false);
    });

    it('allows what the allowlist names: by CIDR (also an IPv4-mapped form of it), by address, by host name', () => {
      const policy: WebhookUrlPolicy = {
        ...STRICT,
        allowlist: ['10.20.0.0/16', 'fd00:1::/32', '192.168.7.7', 'Hooks.Internal.'],
      };
      expect(addressAllowed('10.20.3.4', policy)).toBe(true);
      expect(addressAllowed('::ffff:10.20.3.4', policy)).toBe(true);
      expect(addressAllowed('10.21.0.1', policy)).toBe(false);
      expect(addressAllowed('fd00:1::5', policy)).toBe(true);
      expect(addressAllowed('fd00:2::5', policy)).toBe(false);
      expect(addressAllowed('192.168.7.7', policy)).toBe(true);
      expect(addressAllowed('192.168.7.8', policy)).toBe(false);
      expect(addressAllowed('10.9.9.9', policy, 'hooks.internal')).toBe(true);
      expect(addressAllowed('10.9.9.9', policy, 'other.internal')).toBe(false);
    });
  });

  describe('URLs', () => {
    it.each([
      ['not a url', URL_REASONS.notUrl],
      ['/relative/path', URL_REASONS.notUrl],
      ['https://', URL_REASONS.notUrl],
      ['ftp://93.184.215.14/x', URL_REASONS.scheme],
      ['javascript:alert(1)', URL_REASONS.scheme],
      ['file:///etc/passwd', URL_REASONS.scheme],
      ['https://user:pass@93.184.215.14/', URL_REASONS.credentials],
      ['https://user@93.184.215.14/', URL_REASONS.credentials],
      ['https://@93.184.215.14/', URL_REASONS.credentials],
      ['https://93.184.215.14/hook#frag', URL_REASONS.fragment],
      ['https://93.184.215.14/hook#', URL_REASONS.fragment],
      ['http://10.0.0.1/hook', URL_REASONS.address],
      ['http://169.254.169.254/latest/meta-data/', URL_REASONS.address],
      ['http://100.64.1.1/', URL_REASONS.address],
      ['http://0.0.0.0:8080/', URL_REASONS.address],
      ['http://[::1]/', URL_REASONS.address],
      ['http://[fd00::1]/', URL_REASONS.address],
      ['http://[fe80::1]/', URL_REASONS.address],
      ['http://[::ffff:10.0.0.1]/', URL_REASONS.address],
      ['http://[::ffff:7f00:1]/', URL_REASONS.address],
      ['http://[64:ff9b::10.0.0.1]/', URL_REASONS.address],
      ['http://[ff02::1]/', URL_REASONS.address],
      ['http://255.255.255.255/', URL_REASONS.address],
      ['http://224.0.0.1/', URL_REASONS.address],
      // WHATWG URL parsing turns these IPv4 spellings into dotted quads: they are what they mean.
      ['http://2130706433/', URL_REASONS.address], // 127.0.0.1 in decimal
      ['http://0x7f.1/', URL_REASONS.address], // 127.0.0.1, hex and a short form
      ['http://0177.0.0.1/', URL_REASONS.address], // 127.0.0.1 in octal
      ['http://0xa9fea9fe/', URL_REASONS.address], // 169.254.169.254 in hex
      ['http://10.1/', URL_REASONS.address], // 10.0.0.1, short form
      ['http://167772161/', URL_REASONS.address], // 10.0.0.1 in decimal
    ])('refuses %s', async (url, reason) => {
      expect(await checkWebhookUrl(url, STRICT, noDns)).toBe(reason);
    });

    it('refuses a URL over 2048 characters', async () => {
      const url = `https://93.184.215.14/${'a'.repeat(2048)}`;
      expect(await checkWebhookUrl(url, STRICT, noDns)).toBe(URL_REASONS.tooLong);
    });

    it('WHATWG URL normalises numeric IPv4 hosts (what the checks above rely on)', () => {
      expect(new URL('http://2130706433/').hostname).toBe('127.0.0.1');
      expect(new URL('http://0x7f.1/').hostname).toBe('127.0.0.1');
      expect(new URL('http://0177.0.0.1/').hostname).toBe('127.0.0.1');
      expect(new URL('http://[::ffff:7f00:1]/').hostname).toBe('[::ffff:7f00:1]');
      expect(new URL('http://[::ffff:10.0.0.1]/').hostname).toBe('[::ffff:a00:1]');
    });

    it('accepts public https URLs, by address and by name (every address of the name public)', async () => {
      const resolve = dns({ 'hooks.example.com': ['93.184.215.14', '2606:4700::6810:84e5'] });
      expect(await checkWebhookUrl('https://93.184.215.14/hook', PROD, noDns)).toBeNull();
      expect(
        await checkWebhookUrl('https://[2606:4700::6810:84e5]:8443/h', PROD, noDns),
      ).toBeNull();
      expect(
        await checkWebhookUrl('https://hooks.example.com/in?token=abc', PROD, resolve),
      ).toBeNull();
      expect(resolve.asked).toEqual(['hooks.example.com']);
    });

    it('in production refuses http, and loopback even over https', async () => {
      const resolve = dns({ 'hooks.example.com': ['93.184.215.14'] });
      expect(await checkWebhookUrl('http://hooks.example.com/', PROD, resolve)).toBe(
        URL_REASONS.httpsOnly,
      );
      expect(await checkWebhookUrl('https://127.0.0.1/', PROD, noDns)).toBe(URL_REASONS.address);
      expect(await checkWebhookUrl('https://[::1]/', PROD, noDns)).toBe(URL_REASONS.address);
    });

    it('outside production accepts loopback receivers (a developer’s local receiver)', async () => {
      expect(await checkWebhookUrl('http://127.0.0.1:9999/hook', DEV, noDns)).toBeNull();
      expect(await checkWebhookUrl('http://[::1]:9999/hook', DEV, noDns)).toBeNull();
      expect(await checkWebhookUrl('http://2130706433:9999/', DEV, noDns)).toBeNull();
      expect(await checkWebhookUrl('http://10.0.0.1/', DEV, noDns)).toBe(URL_REASONS.address);
    });

    it('refuses a name that resolves to a non-public address, also when only one of its addresses is', async () => {
      const records: Record<string, string[]> = {
        'internal.example.com': ['10.0.0.5'],
        'metadata.example.com': ['169.254.169.254'],
        'mixed.example.com': ['93.184.215.14', '192.168.0.10'],
        'v6.example.com': ['fd00::5'],
        'mapped.example.com': ['::ffff:127.0.0.1'],
        'nat64.example.com': ['64:ff9b::a00:1'],
      };
      const resolve = dns(records);
      for (const host of Object.keys(records))
        expect(await checkWebhookUrl(`https://${host}/hook`, STRICT, resolve)).toBe(
          URL_REASONS.resolvesTo,
        );
    });

    it('refuses a name that does not resolve, or resolves to nothing', async () => {
      const resolve = dns({ 'empty.example.com': [] });
      expect(await checkWebhookUrl('https://nowhere.example.com/', STRICT, resolve)).toBe(
        URL_REASONS.unresolved,
      );
      expect(await checkWebhookUrl('https://empty.example.com/', STRICT, resolve)).toBe(
        URL_REASONS.unresolved,
      );
    });

    it('resolves a real name with the system resolver: localhost is loopback', async () => {
      expect(await checkWebhookUrl('http://localhost:9999/hook', STRICT)).toBe(
        URL_REASONS.resolvesTo,
      );
      expect(await checkWebhookUrl('http://localhost:9999/hook', DEV)).toBeNull();
    });

    it('allowlisted names are not resolved; allowlisted CIDRs open private addresses, by literal and by DNS', async () => {
      const policy: WebhookUrlPolicy = {
        ...PROD,
        allowlist: ['hooks.internal', '10.20.0.0/16', 'fd00:1::/32'],
      };
      const resolve = dns({
        'hooks.internal': ['10.9.9.9'],
        'svc.internal': ['10.20.1.1'],
        'other.internal': ['10.21.1.1'],
      });
      expect(await checkWebhookUrl('https://HOOKS.internal./x', policy, resolve)).toBeNull();
      expect(resolve.asked).toEqual([]);
      expect(await checkWebhookUrl('https://svc.internal/x', policy, resolve)).toBeNull();
      expect(await checkWebhookUrl('https://other.internal/x', policy, resolve)).toBe(
        URL_REASONS.resolvesTo,
      );
      expect(await checkWebhookUrl('https://10.20.3.3/x', policy, noDns)).toBeNull();
      expect(await checkWebhookUrl('https://[fd00:1::9]/x', policy, noDns)).toBeNull();
      expect(await checkWebhookUrl('https://[fd00:2::9]/x', policy, noDns)).toBe(
        URL_REASONS.address,
      );
      // The allowlist does not lift HTTPS-only or the other URL rules.
      expect(await checkWebhookUrl('http://hooks.internal/x', policy, resolve)).toBe(
        URL_REASONS.httpsOnly,
      );
      expect(await checkWebhookUrl('https://u:p@hooks.internal/x', policy, resolve)).toBe(
        URL_REASONS.credentials,
      );
    });

    it('never repeats the URL in its reason', async () => {
      const url = 'https://secret-token-1234.example.com/hook';
      const reason = await checkWebhookUrl(url, STRICT, noDns);
      expect(reason).not.toBeNull();
      expect(reason).not.toContain('secret-token-1234');
    });
  });
});
