import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { loadEnv } from '@lhcms/config';
import { startUmsDev } from './ums-dev.server';
import { DEFAULT_SEED_FILE, loadSeed } from './ums-store';

/** Standalone ums-dev (docker-compose, manual runs): `node dist/apps/ums-dev/src/main.js`. */
async function main(): Promise<void> {
  const env = loadEnv();
  const secret = env.JWT_SECRET_KEY ?? randomBytes(32).toString('base64url');
  const server = await startUmsDev(
    {
      seed: loadSeed(env.UMS_DEV_SEED_FILE ?? DEFAULT_SEED_FILE),
      secret,
      accessTtlSeconds: env.JWT_ACCESS_TOKEN_EXPIRES,
      refreshTtlSeconds: env.JWT_REFRESH_TOKEN_EXPIRES,
      shape: 'A+B',
      apiKey: env.UMS_API_KEY,
    },
    { port: env.UMS_DEV_PORT, host: env.HOST },
  );
  process.stdout.write(
    `ums-dev listening on ${server.url}${env.JWT_SECRET_KEY ? '' : ' (JWT_SECRET_KEY not set: a random signing secret is used)'}\n`,
  );
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `ums-dev failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
