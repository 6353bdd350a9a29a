export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Opens after `threshold` consecutive failures; while open, calls fail fast.
 * After `resetMs` one trial call is let through (half-open): success closes
 * the breaker, failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private state_: BreakerState = 'closed';

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.state_;
  }

  /** Whether a call may go out now. */
  allow(): boolean {
    if (this.state_ === 'closed') return true;
    if (this.state_ === 'open' && this.now() - this.openedAt >= this.resetMs) {
      this.set('half_open');
    }
    if (this.state_ === 'half_open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.state_ !== 'closed') this.set('closed');
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.state_ === 'half_open' || this.failures >= this.threshold) {
      this.openedAt = this.now();
      if (this.state_ !== 'open') this.set('open');
    }
  }

  private set(s: BreakerState): void {
    this.state_ = s;
    this.onChange(s);
  }
}
