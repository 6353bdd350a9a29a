import { HttpService } from '@nestjs/axios';
import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import type { AxiosResponse } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom } from 'rxjs';
import { isTimeout } from '../common/http/outbound';
import { type BreakerState, CircuitBreaker } from './circuit-breaker';
import { UmsUnauthorized, UmsUnavailable } from './ums-gateway.errors';

export type UmsOperation = 'me' | 'labs' | 'health';
export type UmsOutcome = 'ok' | 'unauthorized' | 'error' | 'timeout' | 'circuit_open';

/** Observer of UMS calls (metrics). */
export interface UmsCallObserver {
  umsCall(operation: UmsOperation, outcome: UmsOutcome, seconds: number): void;
  setUmsCircuitOpen(open: boolean): void;
}

export const UMS_CALL_OBSERVER = Symbol('UMS_CALL_OBSERVER');

const PATHS: Record<Exclude<UmsOperation, 'health'>, string> = {
  me: '/api/auth/me',
  labs: '/api/labs',
};

/**
 * HTTP client of the UMS (@nestjs/axios HttpService): a short timeout per call, bounded retries with
 * backoff for these idempotent GETs (network errors, timeouts, 5xx), and a
 * circuit breaker so a dead UMS costs nothing per request. `X-API-Key` is sent
 * when UMS_API_KEY is set. 401/403/404/422 mean "this token is not valid".
 */
@Injectable()
export class UmsClient {
  private readonly base: string;
  private readonly breaker: CircuitBreaker;

  constructor(
    @Inject(Env) private readonly env: Env,
    @Inject(UMS_CALL_OBSERVER) private readonly observer: UmsCallObserver,
    private readonly http: HttpService,
  ) {
    this.base = (env.UMS_BASE_URL ?? '').replace(/\/+$/, '');
    this.breaker = new CircuitBreaker(
      env.UMS_BREAKER_THRESHOLD,
      env.UMS_BREAKER_RESET_MS,
      (s: BreakerState) => observer.setUmsCircuitOpen(s === 'open'),
    );
  }

  /** `/health` at the UMS's root (the path of UMS_BASE_URL is replaced, as before). */
  private get healthUrl(): string {
    return new URL('/health', this.base).href;
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  me(token: string): Promise<unknown> {
    return this.get('me', token);
  }

  labs(token: string): Promise<unknown> {
    return this.get('labs', token);
  }

  /**
   * GET {UMS_BASE_URL}/health for readiness (no token, X-API-Key when set, no
   * retries, outside the breaker): the status, observed as a UMS call. A
   * failure is an error with the socket error's code and message only (the
   * axios error, with the API key, stays here).
   */
  async health(signal: AbortSignal): Promise<number> {
    const started = performance.now();
    const observe = (outcome: UmsOutcome) =>
      this.observer.umsCall('health', outcome, (performance.now() - started) / 1000);
    let status: number;
    try {
      ({ status } = await firstValueFrom(
        this.http.get<string>(this.healthUrl, { headers: this.headers(), signal }),
      ));
    } catch (err) {
      observe(isTimeout(err, signal) ? 'timeout' : 'error');
      const { code, message } = err as { code?: unknown; message?: unknown };
      throw Object.assign(new Error(String(message)), { name: 'UmsHealthError', code });
    }
    observe(status < 300 || status === 404 ? 'ok' : status === 401 ? 'unauthorized' : 'error');
    return status;
  }

  private headers(token?: string): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) h.authorization = `Bearer ${token}`;
    if (this.env.UMS_API_KEY) h['x-api-key'] = this.env.UMS_API_KEY;
    return h;
  }

  private async get(op: Exclude<UmsOperation, 'health'>, token: string): Promise<unknown> {
    if (!this.base) throw new UmsUnavailable('UMS_BASE_URL is not configured', 'error');
    const started = performance.now();
    const observe = (outcome: UmsOutcome) =>
      this.observer.umsCall(op, outcome, (performance.now() - started) / 1000);
    if (!this.breaker.allow()) {
      observe('circuit_open');
      throw new UmsUnavailable('UMS circuit breaker is open', 'circuit_open');
    }
    let last: UmsUnavailable = new UmsUnavailable('UMS unreachable', 'error');
    for (let attempt = 0; attempt <= this.env.UMS_RETRIES; attempt++) {
      if (attempt > 0) await sleep(50 * 2 ** (attempt - 1));
      const signal = AbortSignal.timeout(this.env.UMS_TIMEOUT_MS);
      let res: AxiosResponse<string>;
      try {
        res = await firstValueFrom(
          this.http.get<string>(`${this.base}${PATHS[op]}`, {
            headers: this.headers(token),
            signal,
          }),
        );
      } catch (err) {
        // The axios error carries the request (URL, token, API key): it goes no further.
        const timeout = isTimeout(err, signal);
        last = new UmsUnavailable(
          timeout ? 'UMS timed out' : 'UMS unreachable',
          timeout ? 'timeout' : 'error',
        );
        continue;
      }
      if (res.status >= 500) {
        last = new UmsUnavailable(`UMS answered ${res.status}`, 'error');
        continue;
      }
      this.breaker.success();
      if (res.status !== 200) {
        observe('unauthorized');
        throw new UmsUnauthorized(`UMS answered ${res.status}`);
      }
      try {
        const body: unknown = JSON.parse(res.data);
        observe('ok');
        return body;
      } catch {
        last = new UmsUnavailable('UMS sent an unreadable body', 'error');
        break;
      }
    }
    this.breaker.failure();
    observe(last.outcome);
    throw last;
  }
}
