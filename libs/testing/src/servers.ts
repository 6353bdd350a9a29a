import type { Env } from '@lhcms/config';
import { DatabaseConnector } from '@lhcms/database';
import {
  DEFAULT_SEED_FILE,
  loadSeed,
  startUmsDev,
  type Seed,
  type UmsDevServer,
  type UmsShape,
} from '@lhcms/ums-dev';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, type CreateAppOptions } from '../../../apps/api/src/app.factory';
import { request } from './http';
import { TEST_JWT_SECRET } from './test-env';

export interface TestUmsOptions {
  shape?: UmsShape;
  seed?: Seed;
  secret?: string;
  apiKey?: string;
  accessTtlSeconds?: number;
}

/** A real ums-dev on a free port. */
export function startTestUms(o: TestUmsOptions = {}): Promise<UmsDevServer> {
  return startUmsDev(
    {
      seed: o.seed ?? loadSeed(DEFAULT_SEED_FILE),
      secret: o.secret ?? TEST_JWT_SECRET,
      accessTtlSeconds: o.accessTtlSeconds ?? 3600,
      refreshTtlSeconds: 86400,
      shape: o.shape ?? 'A+B',
      apiKey: o.apiKey,
    },
    { port: 0 },
  );
}

export interface TestApi {
  url: string;
  app: NestFastifyApplication;
  close(): Promise<void>;
}

/**
 * The API, wired exactly as main.ts wires it, listening on a free port.
 * `options` may add a test-only module or capture the logs.
 */
export async function startTestApi(
  env: Env,
  options: CreateAppOptions & {
    /** Return before the database is connected (a test of starting while it is down). */
    noWaitForDatabase?: boolean;
  } = {},
): Promise<TestApi> {
  const { noWaitForDatabase, ...createOptions } = options;
  const app = await createApp(env, createOptions);
  await app.listen(0, '127.0.0.1');
  // The DataSource connects in the background after boot; most tests want it connected.
  if (!noWaitForDatabase) await app.get(DatabaseConnector).connected;
  const addr = app.getHttpServer().address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, app, close: () => app.close() };
}

/** Logs in at a UMS and returns the access token. */
export async function loginAs(umsUrl: string, username: string, password: string): Promise<string> {
  const res = await request<{ access_token: string }>(umsUrl, '/api/auth/login', {
    method: 'POST',
    body: { username, password },
  });
  if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${res.text}`);
  return res.body.access_token;
}

/** The default seed's passwords (the seed file stores hashes only). */
export const SEED_PASSWORDS: Record<string, string> = {
  admin: 'admin123',
  tech: 'tech123',
  viewer: 'viewer123',
  lab2admin: 'lab2admin123',
  multi: 'multi123',
  nolab: 'nolab123',
  sysadmin: 'sysadmin123',
  support: 'support123',
  compliance: 'compliance123',
  inactive: 'inactive123',
};

export function loginSeedUser(umsUrl: string, username: string): Promise<string> {
  return loginAs(umsUrl, username, SEED_PASSWORDS[username]);
}
