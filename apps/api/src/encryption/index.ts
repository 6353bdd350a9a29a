export { EncryptionModule } from './encryption.module';
export { rotateKeys } from './key-rotation';
export { PhiCipher } from './phi-cipher';
