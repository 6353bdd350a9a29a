import {
  isReplicaConnectionFault,
  isReplicaRetryable,
  lsnToBigInt,
  PrimaryWalHistory,
} from './replica-router';

describe('lsnToBigInt', () => {
  it('reads a WAL position as a byte offset (high word, low word)', () => {
    expect(lsnToBigInt('0/0')).toBe(0n);
    expect(lsnToBigInt('0/16B3748')).toBe(0x16b3748n);
    expect(lsnToBigInt('16/B374D848')).toBe((0x16n << 32n) + 0xb374d848n);
    expect(lsnToBigInt('1/0') > lsnToBigInt('0/FFFFFFFF')).toBe(true);
  });

  it('refuses what is not one', () => {
    expect(() => lsnToBigInt('16-B374')).toThrow('not a WAL position');
  });
});

describe('PrimaryWalHistory', () => {
  it('an idle primary: a standby at its position has lag 0, however old the last write', () => {
    const h = new PrimaryWalHistory(10_000);
    h.add(1_000, 500n);
    h.add(2_000, 500n);
    h.add(60_000, 500n);
    expect(h.lagMs(500n, 60_500)).toBe(0);
  });

  it('a standby behind: the age of the newest sample it has replayed', () => {
    const h = new PrimaryWalHistory(60_000);
    h.add(1_000, 100n);
    h.add(2_000, 200n);
    h.add(3_000, 300n);
    expect(h.lagMs(250n, 3_100)).toBe(1_100); // has the state of t=2000
    expect(h.lagMs(300n, 3_100)).toBe(0);
    expect(h.lagMs(100n, 3_100)).toBe(2_100);
  });

  it('behind every sample kept: at least the kept span (past any bound below it)', () => {
    const h = new PrimaryWalHistory(2_000);
    for (let t = 0; t <= 10_000; t += 1_000) h.add(t, BigInt(1000 + t));
    expect(h.lagMs(10n, 10_000)).toBeGreaterThanOrEqual(2_000);
  });

  it('knows nothing before the first sample', () => {
    expect(new PrimaryWalHistory(1_000).lagMs(1n, 0)).toBeUndefined();
  });
});

describe('which standby failures a read retries on the primary', () => {
  it('connection faults: retried, and the standby marked down', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
    ]) {
      expect(isReplicaConnectionFault(err)).toBe(true);
      expect(isReplicaRetryable(err)).toBe(true);
    }
  });

  it('a recovery conflict: retried, the standby stays up', () => {
    const err = Object.assign(new Error('canceling statement due to conflict with recovery'), {
      code: '40001',
    });
    expect(isReplicaRetryable(err)).toBe(true);
    expect(isReplicaConnectionFault(err)).toBe(false);
  });

  it('load and bad queries: not retried (the primary would only get them twice)', () => {
    for (const err of [
      Object.assign(new Error('statement timeout'), { code: '57014' }),
      Object.assign(new Error('queue full'), { code: 'LHCMS_DB_POOL_QUEUE_FULL' }),
      Object.assign(new Error('syntax'), { code: '42601' }),
      new Error('invalid lab id'),
    ]) {
      expect(isReplicaRetryable(err)).toBe(false);
    }
  });
});
