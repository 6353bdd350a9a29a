import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { ConfigError, type Env, loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import { createApp } from './app.factory';
import type { DevRuntime } from './dev-runtime/dev-runtime';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
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
    const { startDevRuntime } = await import('./dev-runtime/dev-runtime.js');
    dev = await startDevRuntime(env, (m) => out(`[lhcms] ${m}`));
    env = loadEnv({ ...process.env, ...dev.overrides });
  }
  try {
    if (env.migrateOnStart) {
      const applied = await runMigrations(env);
      if (applied.length) out(`[lhcms] migrations applied: ${applied.join(', ')}`);
    }
    const app = await createApp(env);
    await app.listen(env.PORT, env.HOST);
    out(`[lhcms] LHCMS (${env.NODE_ENV}) listening on http://${env.HOST}:${env.PORT}`);
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
      out(`[lhcms] ${signal}: draining in-flight requests, then stopping`);
      void app
        .close()
        .then(() => dev?.stop())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`[lhcms] shutdown error: ${String(err)}\n`);
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
