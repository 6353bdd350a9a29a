import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Env } from '@lhcms/config';
import { dataSourceOptions } from './data-source-options';
import { TenantDb } from './tenant-db';

/**
 * The app's single DataSource (application role). Entities register through
 * `TypeOrmModule.forFeature` in their own module (autoLoadEntities).
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [Env],
          useFactory: (env: Env) => ({
            ...dataSourceOptions(env, 'app'),
            autoLoadEntities: true,
            // Fail fast at boot instead of retrying for minutes; Kubernetes restarts us.
            retryAttempts: 0,
          }),
        }),
      ],
      providers: [TenantDb],
      exports: [TenantDb],
    };
  }
}
