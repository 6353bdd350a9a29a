export * from './request-id';
export * from './principal';
export * from './request-context';
export * from './request-context.module';
export * from './fastify-request-context';
