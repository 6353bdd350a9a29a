export * from './pg-url';
export * from './provision';
export * from './data-source-options';
export * from './migrate';
export * from './migration-helpers';
export * from './database.module';
export * from './tenant-db';
export * from './embedded/embedded-postgres';
