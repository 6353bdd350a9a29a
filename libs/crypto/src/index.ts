export * from './key-object';
export * from './keys';
export * from './field-cipher';
export * from './kek';
export * from './segmented-cipher';
