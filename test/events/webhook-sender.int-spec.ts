import { postWebhook, type SendOptions } from '../../apps/api/src/webhooks/delivery/webhook-sender';
import { Receiver } from './webhook-test-helpers';

/**
 * The delivery client against a real receiver on 127.0.0.1: the URL policy
 * is applied to the address actually connected to — an IP literal before
 * connecting, a host name at lookup time (DNS rebinding) — and production's
 * HTTPS-only rule holds.
 */
describe('webhook delivery client: the URL policy at connect time', () => {
  let r: Receiver;
  beforeAll(async () => {
    r = await Receiver.start();
  });
  afterAll(async () => {
    await r?.close();
  });

  const opts = (allowLoopback: boolean, httpsOnly = false): SendOptions => ({
    timeoutMs: 2000,
    maxResponseBytes: 1024,
    policy: { allowLoopback, httpsOnly, allowlist: [] },
  });
  const send = (url: string, o: SendOptions) =>
    postWebhook(url, JSON.stringify({ id: 'x', case_id: 1 }), { 'webhook-id': 'x' }, o);

  it('refuses loopback when the policy does (an IP literal, a name resolving to it, IPv6), and nothing reaches the receiver', async () => {
    const port = r.port;
    for (const url of [
      `http://127.0.0.1:${port}/hook`,
      `http://localhost:${port}/hook`,
      `http://[::1]:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
    ]) {
      expect({ url, result: await send(url, opts(false)) }).toEqual({
        url,
        result: { delivered: false, statusCode: null, error: 'address not allowed' },
      });
    }
    expect(r.got).toHaveLength(0);
  });

  it('connects where the policy allows it (loopback outside production), by name too', async () => {
    expect(await send(`http://localhost:${r.port}/hook`, opts(true))).toEqual({
      delivered: true,
      statusCode: 200,
      error: null,
    });
    expect(r.got).toHaveLength(1);
  });

  it('HTTPS only in production: an http URL is not even connected to', async () => {
    const before = r.got.length;
    expect(await send(`http://127.0.0.1:${r.port}/hook`, opts(true, true))).toMatchObject({
      delivered: false,
      error: 'scheme not allowed',
    });
    expect(r.got).toHaveLength(before);
  });

  it('a refused connection and a host that does not resolve are failures with a short reason', async () => {
    const down = await Receiver.start();
    const port = down.port;
    await down.close();
    expect(await send(`http://127.0.0.1:${port}/hook`, opts(true))).toMatchObject({
      delivered: false,
      statusCode: null,
      error: 'connection refused',
    });
    expect(await send('http://no-such-host.invalid/hook', opts(true))).toMatchObject({
      delivered: false,
      statusCode: null,
      error: 'host not found',
    });
  });
});
