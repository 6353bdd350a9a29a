import { requestIdFrom } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('requestIdFrom', () => {
  it('keeps a valid inbound X-Request-Id', () => {
    expect(requestIdFrom({ 'x-request-id': 'abc-123_XYZ.9' })).toBe('abc-123_XYZ.9');
  });

  it('takes the trace id of a valid traceparent', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(requestIdFrom({ traceparent: tp })).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it.each([
    ['too short', { 'x-request-id': 'abc' }],
    ['log injection', { 'x-request-id': 'abcdefgh\n{"level":"fatal"}' }],
    ['too long', { 'x-request-id': 'a'.repeat(200) }],
    [
      'all-zero trace id',
      { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
    ],
    ['malformed traceparent', { traceparent: 'garbage' }],
    ['nothing', {}],
  ])('generates a UUID for %s', (_what, headers) => {
    expect(requestIdFrom(headers)).toMatch(UUID);
  });
});
