/**
 * Route config key of a route whose response stays open for minutes (the
 * live feed, `GET /api/v1/events/stream`): its duration is not a request
 * latency, so the RED latency histogram leaves it out, and a client that
 * ends it after the headers went out is a normal end (200), not a 499.
 */
export const LONG_LIVED_ROUTE_CONFIG = 'lhcmsLongLived';

export function isLongLived(config: unknown): boolean {
  return (config as Record<string, unknown> | undefined)?.[LONG_LIVED_ROUTE_CONFIG] === true;
}
