/** What other modules may use of the encryption module. */
export { EncryptionModule } from './encryption.module';
export { DataKeyService } from './data-key.service';
export { rotateKeys } from './key-rotation';
export { PhiCipher } from './phi-cipher';
export { ENCRYPTED_TEXT_COLUMNS, TEXT_BINDING, type EncryptedTextColumn } from './encrypted-text';
