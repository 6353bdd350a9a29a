export * from './cache.module';
export * from './cache-store';
export * from './ttl-cache';
