import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Env } from '@lhcms/config';
import { DatabaseConnector } from './database-connector';
import { dataSourceOptions } from './data-source-options';
import { ReplicaRouter } from './replica-router';
import { TenantDb } from './tenant-db';

/**
 * The app's single DataSource (application role). It is not connected while
 * the app boots: DatabaseConnector connects it in the background, so that the
 * process starts (not ready) while PostgreSQL is unreachable.
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
            // DatabaseConnector connects it, with backoff, after boot.
            manualInitialization: true,
            retryAttempts: 0,
          }),
        }),
      ],
      providers: [TenantDb, DatabaseConnector, ReplicaRouter],
      exports: [TenantDb, DatabaseConnector, ReplicaRouter],
    };
  }
}
