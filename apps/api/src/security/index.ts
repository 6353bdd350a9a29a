export {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  NO_STORE,
  SECURITY_HEADERS,
} from './security-headers';
export { SecurityModule } from './security.module';
