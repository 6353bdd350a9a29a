import type { Env } from '@lhcms/config';
import { AwsKmsKekProvider, type KekProvider, LocalKekProvider } from '@lhcms/crypto';

export const KEK_PROVIDER = Symbol('KEK_PROVIDER');

/** The configured key-encryption key provider (ENCRYPTION_PROVIDER). */
export function kekProviderFrom(env: Env): KekProvider {
  if (env.ENCRYPTION_PROVIDER === 'aws-kms') {
    return new AwsKmsKekProvider(env.ENCRYPTION_KEY_ID!, {
      region: env.AWS_REGION,
      endpoint: env.KMS_ENDPOINT,
      timeoutMs: 5000,
    });
  }
  if (!env.ENCRYPTION_LOCAL_KEK) throw new Error('ENCRYPTION_LOCAL_KEK is not set');
  return new LocalKekProvider(
    Buffer.from(env.ENCRYPTION_LOCAL_KEK, 'base64'),
    env.ENCRYPTION_LOCAL_KEKS_RETIRED.map((k) => Buffer.from(k, 'base64')),
  );
}
