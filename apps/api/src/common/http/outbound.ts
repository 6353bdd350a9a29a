import type { AxiosRequestConfig } from 'axios';

/**
 * The axios defaults of every outbound call (HttpModule.registerAsync in the
 * UMS gateway and LinksHub modules): redirects are not followed (a bearer
 * token never travels to another address), HTTP(S)_PROXY is not honoured (as
 * with fetch before), every status is an answer (the caller decides), bodies
 * are read as text and parsed by the caller (an unreadable body is its own
 * outcome). `timeout` bounds socket inactivity; each call also carries a
 * total deadline (AbortSignal.timeout) with the same bound.
 *
 * An axios error carries its request (URL, bearer token, API key): callers
 * turn it into their own error and never log, wrap or rethrow it.
 */
export function outboundHttpConfig(timeoutMs: number): AxiosRequestConfig {
  return {
    timeout: timeoutMs,
    maxRedirects: 0,
    proxy: false,
    validateStatus: () => true,
    responseType: 'text',
    transitional: { clarifyTimeoutError: true },
  };
}

/** Whether an outbound call failed by timing out (rather than refused, reset or aborted otherwise). */
export function isTimeout(err: unknown, signal: AbortSignal): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return signal.aborted || code === 'ETIMEDOUT' || code === 'ECONNABORTED';
}
