import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, type Env, loadEnv } from '@lhcms/config';
import { createApp } from './app.factory';
import type { DevRuntime } from './dev-runtime';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * `app.close(signal)`: what `enableShutdownHooks()` does on a signal, with the
 * signal passed to beforeApplicationShutdown/onApplicationShutdown (the
 * typings omit the parameter). enableShutdownHooks() itself is not used: it
 * re-raises the signal after closing (exit code 143, not 0) and would end the
 * process before the embedded PostgreSQL is stopped.
 */
function closeApp(app: NestFastifyApplication, signal: NodeJS.Signals): Promise<void> {
  const close: (signal?: string) => Promise<void> = app.close.bind(app);
  return close(signal);
}

async function main(): Promise<void> {
  // A local .env (never committed) fills in what the environment does not set.
  if (existsSync('.env')) process.loadEnvFile('.env');
  let env: Env = loadEnv();
  let dev: DevRuntime | undefined;
  const needsDev =
    !env.DATABASE_URL ||
    !env.UMS_BASE_URL ||
    !env.SECRET_KEY ||
    (env.ENCRYPTION_PROVIDER === 'local' && !env.ENCRYPTION_LOCAL_KEK);
  if (!env.isProduction && needsDev) {
    // Loaded lazily: production never loads the embedded-database code.
    const { startDevRuntime } = await import('./dev-runtime/index.js');
    dev = await startDevRuntime(env, (m) => out(`[lhcms] ${m}`));
    env = loadEnv({ ...process.env, ...dev.overrides });
  }
  try {
    // The database is connected (and, with DB_MIGRATE_ON_START, migrated) in the background
    // with backoff: the process serves /health/live at once, and is ready once connected.
    const app = await createApp(env);
    const log = new Logger('Main');
    await app.listen(env.PORT, env.HOST);
    log.log(`LHCMS ${env.NODE_ENV} listening on http://${env.HOST}:${env.PORT}`);
    for (const line of dev?.banner ?? []) out(`[lhcms] ${line}`);
    if (dev)
      out(
        `[lhcms] API docs: http://localhost:${env.PORT}/docs — health: http://localhost:${env.PORT}/health`,
      );

    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second Ctrl-C: stop waiting for in-flight requests, but never leave PostgreSQL behind.
        void (dev?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
        return;
      }
      stopping = true;
      // Readiness turns 503, in-flight requests finish, then pools close (the
      // app's shutdown hooks); the embedded runtime, if any, stops last.
      log.log(`${signal}: draining in-flight requests, then stopping`);
      void closeApp(app, signal)
        .then(() => dev?.stop())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            log.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
          },
        );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  } catch (err) {
    await dev?.stop().catch(() => undefined);
    throw err;
  }
}

main().catch((err: unknown) => {
  const msg =
    err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`[lhcms] failed to start: ${msg}\n`);
  process.exit(1);
});
