export { type DevRuntime, startDevRuntime } from './dev-runtime';
