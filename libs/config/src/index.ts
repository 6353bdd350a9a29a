export * from './env';
export * from './env.decorators';
export * from './load-env';
export * from './config.module';
export * from './env-docs';
