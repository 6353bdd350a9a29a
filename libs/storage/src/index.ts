export * from './object-store';
export * from './object-key';
export * from './filesystem-store';
export * from './s3-store';
export * from './create-object-store';
export * from './encrypted-objects';
export * from './transfer-gc';
