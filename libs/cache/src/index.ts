export * from './cache.module';
export * from './cache-store';
export * from './fallback-store';
export * from './redis-link';
export * from './ttl-cache';
