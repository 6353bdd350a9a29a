import { bearerMatches } from './metrics-token.guard';

describe('bearerMatches (METRICS_TOKEN)', () => {
  const token = 'metrics-token-0123456789abcdef';

  it('accepts exactly `Bearer <token>` (scheme case-insensitive)', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['empty', ''],
    ['the token without a scheme', token],
    ['another scheme', `Basic ${token}`],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
    ['the token with a suffix', `Bearer ${token}x`],
    ['two tokens', `Bearer ${token} ${token}`],
    ['a different token', 'Bearer metrics-token-fedcba9876543210'],
  ])('refuses %s', (_what, header) => {
    expect(bearerMatches(header, token)).toBe(false);
  });
});
