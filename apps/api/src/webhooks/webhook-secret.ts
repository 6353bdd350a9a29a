import { randomBytes } from 'node:crypto';
import { TEXT_BINDING } from '../encryption';

/**
 * The PhiCipher column binding of a subscription's signing secrets, both
 * `secret` and `previous_secret` (encryptText/decryptText with the lab's
 * id): the subscriptions API encrypts with it, the delivery worker decrypts,
 * `keys rotate --reencrypt` rewrites them (ENCRYPTED_TEXT_COLUMNS).
 */
export const WEBHOOK_SECRET_BINDING = TEXT_BINDING.webhookSecret();

/** A Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
