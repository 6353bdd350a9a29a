import { ConfigError, parseConfig, SCENARIOS } from './config';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const c = parseConfig(argv, env, '/repo');
  if (c === 'help') throw new Error('help');
  return c;
};

describe('bench config', () => {
  it('defaults to the full run of issue #9', () => {
    const c = parse([]);
    expect(c.duration).toBe(10);
    expect(c.concurrencies).toEqual([1, 16, 64]);
    expect(c.scenarios).toEqual([...SCENARIOS]);
    expect(c.labSizes).toEqual([100_000, 20_000, 5_000]);
    expect(c.deepOffset).toBe(10_000);
    expect(c.perPage).toBe(50);
    expect(c.adminUrl).toBe('postgresql://postgres@127.0.0.1:5432/postgres');
    expect(c.statusCycle).toEqual(['pending', 'on_hold']);
    expect(c.statusExtra).toEqual({ reason: 'bench: status toggle' });
    expect(c.outDir).toBe('/repo/ops/bench/results');
    expect(c.baseline && c.profile && c.startup && c.roundTrips).toBe(true);
  });

  it('--short shortens every timed phase', () => {
    const c = parse(['--short']);
    expect([c.duration, c.warmup, c.profileDuration, c.startupTrials]).toEqual([3, 1, 3, 1]);
    expect([c.sliceSeconds, c.rounds, c.npmStartTrials]).toEqual([3, 4, 0]);
    expect(c.concurrencies).toEqual([16]);
    expect(c.labSizes).toEqual([20_000, 5_000]);
    expect([c.attachments, c.roundTripRequests]).toEqual([undefined, 10]);
    expect(c.scenarios).toEqual([...SCENARIOS]);
    expect(parse(['--short', '--scenarios=attachments']).attachments).toBeDefined();
    // The main comparison keeps the concurrencies.
    expect(c.interleaveConcurrencies).toEqual([16, 64]);
  });

  it('interleaves get and list page 1 at 16 and 64 by default: 5 s slices, 6 rounds', () => {
    const c = parse([]);
    expect([c.interleaveConcurrencies, c.sliceSeconds, c.rounds, c.checkEvery]).toEqual([
      [16, 64],
      5,
      6,
      50,
    ]);
    expect(parse(['--no-interleave']).interleaveConcurrencies).toEqual([]);
    expect(parse(['--interleave-concurrency=2', '--slice=0.5', '--rounds=2']).rounds).toBe(2);
    expect(() => parse(['--check-every=0'])).toThrow(ConfigError);
  });

  it('flags win over BENCH_* variables, which win over defaults', () => {
    const env = {
      BENCH_DURATION: '3',
      BENCH_CONCURRENCY: '2,4',
      BENCH_DATABASE_URL: 'postgresql://x@h/db',
    };
    expect(parse([], env).duration).toBe(3);
    expect(parse(['--duration', '7'], env).duration).toBe(7);
    expect(parse([], env).concurrencies).toEqual([2, 4]);
    expect(parse([], env).adminUrl).toBe('postgresql://x@h/db');
    expect(parse([], { BENCH_NO_PROFILE: '1' }).profile).toBe(false);
    expect(parse(['--no-baseline']).baseline).toBe(false);
  });

  it('parses scenarios, the mix, server env, status cycle and redis', () => {
    const c = parse([
      '--scenarios=get,create',
      '--mix=get:1,status:1',
      '--server-env=DB_POOL_SIZE=10',
      '--server-env',
      'UMS_CACHE_TTL=0',
      '--status-cycle=pending,in_progress',
      '--status-extra={"reason":"bench"}',
      '--redis-url=none',
    ]);
    expect(c.scenarios).toEqual(['get', 'create']);
    expect(c.mix).toEqual([
      { kind: 'get', weight: 1 },
      { kind: 'status', weight: 1 },
    ]);
    expect(c.serverEnv).toEqual({ DB_POOL_SIZE: '10', UMS_CACHE_TTL: '0' });
    expect(c.statusCycle).toEqual(['pending', 'in_progress']);
    expect(c.statusExtra).toEqual({ reason: 'bench' });
    expect(c.redisUrl).toBeUndefined();
  });

  it('refuses what cannot be run, naming the option', () => {
    expect(() => parse(['--scenarios=nope'])).toThrow(/--scenarios/);
    expect(() => parse(['--duration=-1'])).toThrow(ConfigError);
    expect(() => parse(['--concurrency=1,x'])).toThrow(/--concurrency/);
    expect(() => parse(['--deep-offset=1001'])).toThrow(/multiple of --per-page/);
    expect(() => parse(['--cases=500', '--deep-offset=1000'])).toThrow(/beyond the largest lab/);
    expect(() => parse(['--status-cycle=pending'])).toThrow(/--status-cycle/);
    expect(() => parse(['--mix=get:0'])).toThrow(/--mix/);
    expect(() => parse(['--seed=copy'])).toThrow(/--seed/);
    expect(() => parse(['--server-env=NOEQUALS'])).toThrow(/--server-env/);
  });

  it('answers --help', () => {
    expect(parseConfig(['--help'], {}, '/repo')).toBe('help');
  });

  it('includes the attachments group in a full run and selects it with --scenarios', () => {
    const full = parse([]);
    expect(full.attachments).toEqual({
      largeMB: 200,
      largePairs: 2,
      smallMB: 2,
      smallCount: 100,
      smallPairs: 1,
      concurrency: 8,
      backgroundConcurrency: 2,
      backgroundMB: 2,
    });
    expect(parse(['--short', '--scenarios=attachments']).attachments).toMatchObject({
      largeMB: 100,
      smallCount: 40,
    });
    const only = parse(['--scenarios=attachments', '--att-large-mb=2', '--att-small-count=3']);
    expect(only.scenarios).toEqual([]);
    expect(only.attachments).toMatchObject({ largeMB: 2, smallCount: 3 });
    expect(parse(['--scenarios=get']).attachments).toBeUndefined();
    expect(() => parse(['--att-small-count=101'])).toThrow(/ATTACHMENT_MAX_PER_CASE/);
    expect(() => parse(['--att-large-mb=300'])).toThrow(/ATTACHMENT_MAX_BYTES/);
  });
});
