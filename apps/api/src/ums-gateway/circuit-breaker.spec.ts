import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('opens after the threshold of consecutive failures and fails fast', () => {
    const b = new CircuitBreaker(3, 10_000, undefined, clock);
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
  });

  it('a success resets the failure count', () => {
    const b = new CircuitBreaker(2, 10_000, undefined, clock);
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });

  it('lets exactly one trial through after the reset time; success closes it', () => {
    const changes: string[] = [];
    const b = new CircuitBreaker(1, 5_000, (s) => changes.push(s), clock);
    b.failure();
    now += 4_999;
    expect(b.allow()).toBe(false);
    now += 1;
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // the trial is in flight
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half_open', 'closed']);
  });

  it('a failed trial opens it again for another reset period', () => {
    const b = new CircuitBreaker(1, 5_000, undefined, clock);
    b.failure();
    now += 5_000;
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    now += 4_000;
    expect(b.allow()).toBe(false);
  });
});
