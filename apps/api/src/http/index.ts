export { installHttpObservability } from './http-observability';
