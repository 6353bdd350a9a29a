import { type DynamicModule, Global, Module } from '@nestjs/common';
import { Env } from './env';

/**
 * Makes the validated configuration injectable as `Env`. The instance is built
 * once by the caller (main.ts, the CLI, a test) with `loadEnv()`, so the app,
 * the migration CLI and the tests read one configuration the same way.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: Env, useValue: env }],
      exports: [Env],
    };
  }
}
