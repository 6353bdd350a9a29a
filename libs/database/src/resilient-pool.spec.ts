import { isDatabaseUnavailable } from './resilient-pool';

describe('isDatabaseUnavailable', () => {
  it.each([
    [
      'a refused connection',
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
    ],
    ['a reset connection', { code: 'ECONNRESET', message: 'read ECONNRESET' }],
    // A pipelined read writes its statements before the first answer: a connection already
    // closed answers the write with EPIPE (found by the database fault suite: it was a 500).
    ['a statement written to a closed connection', { code: 'EPIPE', message: 'write EPIPE' }],
    ['the server shutting down', { code: '57P01', message: 'terminating connection' }],
    ['TypeORM wrapping a driver error', { message: 'x', driverError: { code: 'EPIPE' } }],
    ['a connection that ended', { message: 'Connection terminated unexpectedly' }],
  ])('%s: yes (503)', (_what, err) => {
    expect(isDatabaseUnavailable(Object.assign(new Error(err.message), err))).toBe(true);
  });

  it.each([
    ['a syntax error (a bug)', { code: '42601', message: 'syntax error' }],
    ['a unique violation', { code: '23505', message: 'duplicate key' }],
    ['an error without a code', { message: 'something else' }],
  ])('%s: no', (_what, err) => {
    expect(isDatabaseUnavailable(Object.assign(new Error(err.message), err))).toBe(false);
  });
});
