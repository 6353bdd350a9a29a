export * from './ums-dev.server';
export * from './ums-dev.options';
export * from './ums-store';
export { hashPassword, verifyPassword } from './passwords';
