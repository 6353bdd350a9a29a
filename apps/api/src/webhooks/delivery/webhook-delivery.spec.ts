import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signatureHeader } from './webhook-sender';
import { retryDelayMs } from './webhook-worker';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('retryDelayMs (exponential backoff, full jitter)', () => {
  it('draws between 0 and min(max, base · 2^(n-1))', () => {
    expect(retryDelayMs(1, 5000, 3_600_000, () => 0.999_999)).toBe(4999);
    expect(retryDelayMs(2, 5000, 3_600_000, () => 0.999_999)).toBe(9999);
    expect(retryDelayMs(5, 5000, 3_600_000, () => 0.5)).toBe(40_000);
    expect(retryDelayMs(20, 5000, 3_600_000, () => 0.999_999)).toBe(3_599_996);
    expect(retryDelayMs(1000, 5000, 3_600_000, () => 0.5)).toBe(1_800_000);
    expect(retryDelayMs(3, 5000, 3_600_000, () => 0)).toBe(0);
  });
});

describe('signatureHeader (Standard Webhooks)', () => {
  const body = JSON.stringify({ id: 'e1', type: 'case.created' });
  const at = new Date();

  it('signs with each secret, space-separated; a receiver with either verifies', () => {
    const [current, previous] = [secret(), secret()];
    const header = signatureHeader([current, previous], 'msg_1', at, body);
    expect(header).toMatch(/^v1,\S+ v1,\S+$/);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': header,
    };
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret()).verify(body, headers)).toThrow();
    // Another id or body does not verify.
    expect(() =>
      new Webhook(current).verify(body, { ...headers, 'webhook-id': 'msg_2' }),
    ).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });
});
