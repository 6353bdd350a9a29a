export * from './test-database';
export * from './test-env';
export * from './http';
export * from './servers';
export * from './process';
export * from './stack';
export * from './tcp-proxy';
export * from './log-capture';
