import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';

/** A wrapped data key and the key-encryption key that wrapped it. */
export interface WrappedKey {
  wrapped: Buffer;
  kekId: string;
}

/**
 * Key-encryption key provider: wraps and unwraps per-lab data keys. The KEK
 * never touches the database; only wrapped data keys do.
 */
export interface KekProvider {
  readonly name: 'local' | 'aws-kms';
  /** Id of the KEK new wraps use. */
  readonly currentKekId: string;
  wrap(dataKey: Buffer, context: Record<string, string>): Promise<WrappedKey>;
  unwrap(w: WrappedKey, context: Record<string, string>): Promise<Buffer>;
}

export class KekUnavailable extends Error {}

/** The id of a local KEK: a short fingerprint, safe to store. */
export function localKekId(kek: Buffer): string {
  return `local:${createHash('sha256').update(kek).digest('hex').slice(0, 16)}`;
}

function aadOf(context: Record<string, string>): Buffer {
  return Buffer.from(
    Object.keys(context)
      .sort()
      .map((k) => `${k}=${context[k]}`)
      .join('&'),
    'utf8',
  );
}

/**
 * KEKs from configuration (AES-256-GCM key wrap). The current KEK wraps;
 * retired ones still unwrap, so `lhcms keys rotate` can re-wrap without
 * downtime.
 */
export class LocalKekProvider implements KekProvider {
  readonly name = 'local' as const;
  readonly currentKekId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, retired: Buffer[] = []) {
    for (const k of [current, ...retired]) {
      if (k.length !== 32) throw new Error('a local key-encryption key must be 32 bytes (base64)');
      this.keys.set(localKekId(k), k);
    }
    this.currentKekId = localKekId(current);
  }

  async wrap(dataKey: Buffer, context: Record<string, string>): Promise<WrappedKey> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keys.get(this.currentKekId)!, iv);
    c.setAAD(aadOf(context));
    const ct = Buffer.concat([c.update(dataKey), c.final()]);
    return { wrapped: Buffer.concat([iv, ct, c.getAuthTag()]), kekId: this.currentKekId };
  }

  async unwrap(w: WrappedKey, context: Record<string, string>): Promise<Buffer> {
    const kek = this.keys.get(w.kekId);
    if (!kek) throw new KekUnavailable(`key-encryption key ${w.kekId} is not configured`);
    const d = createDecipheriv('aes-256-gcm', kek, w.wrapped.subarray(0, 12));
    d.setAAD(aadOf(context));
    d.setAuthTag(w.wrapped.subarray(w.wrapped.length - 16));
    return Buffer.concat([d.update(w.wrapped.subarray(12, w.wrapped.length - 16)), d.final()]);
  }
}

/**
 * AWS KMS: data keys are wrapped with Encrypt under ENCRYPTION_KEY_ID and an
 * encryption context (the lab), unwrapped with Decrypt. The key id stored
 * with each wrapped key is the KMS key ARN that KMS reports.
 */
export class AwsKmsKekProvider implements KekProvider {
  readonly name = 'aws-kms' as const;
  private readonly client: KMSClient;

  constructor(
    readonly currentKekId: string,
    opts: { region: string; endpoint?: string; timeoutMs: number },
  ) {
    this.client = new KMSClient({
      region: opts.region,
      endpoint: opts.endpoint,
      maxAttempts: 3,
      requestHandler: { requestTimeout: opts.timeoutMs, connectionTimeout: opts.timeoutMs },
    });
  }

  async wrap(dataKey: Buffer, context: Record<string, string>): Promise<WrappedKey> {
    try {
      const r = await this.client.send(
        new EncryptCommand({
          KeyId: this.currentKekId,
          Plaintext: dataKey,
          EncryptionContext: context,
        }),
      );
      return { wrapped: Buffer.from(r.CiphertextBlob!), kekId: r.KeyId ?? this.currentKekId };
    } catch (err) {
      throw new KekUnavailable(`KMS Encrypt failed: ${(err as Error).name}`);
    }
  }

  async unwrap(w: WrappedKey, context: Record<string, string>): Promise<Buffer> {
    try {
      const r = await this.client.send(
        new DecryptCommand({
          CiphertextBlob: w.wrapped,
          KeyId: w.kekId,
          EncryptionContext: context,
        }),
      );
      return Buffer.from(r.Plaintext!);
    } catch (err) {
      throw new KekUnavailable(`KMS Decrypt failed: ${(err as Error).name}`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
