export * from './phi-fields';
export * from './logging.module';
