import { type ArgumentsHost, Logger } from '@nestjs/common';
import { RedisUnavailableError } from '@lhcms/cache';
import { createClient } from '@redis/client';
import type { RouteTable } from '../http/route-table';
import { AllExceptionsFilter } from './all-exceptions.filter';

/** The filter's answer to `err` for a plain GET (status and body as sent). */
async function answer(err: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const sent: { status: number; body: Record<string, unknown> } = { status: 0, body: {} };
  const reply = {
    sent: false,
    status(s: number) {
      sent.status = s;
      return this;
    },
    headers() {
      return this;
    },
    send(b: Record<string, unknown>) {
      sent.body = b;
      return this;
    },
  };
  const req = { id: 'req-1', url: '/api/v1/cases', method: 'GET', routeOptions: { url: '/x' } };
  const host = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  await new AllExceptionsFilter({} as RouteTable).catch(err, host);
  return sent;
}

describe('AllExceptionsFilter: which dependency failed', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('a Redis fault that reaches a request is 503 naming Redis, never "Database unavailable"', async () => {
    const client = createClient({ url: 'redis://127.0.0.1:1/0' });
    const closed = await client.get('x').catch((e: unknown) => e);
    for (const err of [closed, new RedisUnavailableError('connection refused')]) {
      const { status, body } = await answer(err);
      expect(status).toBe(503);
      expect(body).toMatchObject({ message: 'Cache unavailable (Redis)', request_id: 'req-1' });
    }
  });

  it('a PostgreSQL connection error still reads "Database unavailable"', async () => {
    const pgDown = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const { status, body } = await answer(pgDown);
    expect(status).toBe(503);
    expect(body.message).toBe('Database unavailable');
  });
});
