import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pipeline, Transform, type Readable } from 'node:stream';
import { assertObjectKey, assertRange, isValidObjectKey } from './object-key';
import { ObjectNotFoundError, ObjectStoreError, type ObjectStore } from './object-store';

export interface S3StoreConfig {
  /** http(s) URL of an S3-compatible endpoint; unset: AWS S3 of `region`. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** `endpoint/bucket/key` addressing (most S3-compatible servers) instead of `bucket.endpoint/key`. */
  forcePathStyle?: boolean;
  /** Both or neither; neither: the SDK's default credential chain (environment, web identity, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Connect, request and socket-idle timeout of each S3 call, ms. */
  timeoutMs?: number;
  /** Attempts per call (the SDK retries throttling, 5xx and network errors). Default 3. */
  maxAttempts?: number;
  /** Every key is stored under this prefix (no leading or trailing slash needed). */
  prefix?: string;
  /** Multipart part size, bytes (S3's minimum is 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once; memory held by a put is about (queueSize + 1) × partSize. Default 2. */
  queueSize?: number;
}

export const S3_DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** The HTTP status and error name of an SDK error, if it has them. */
function errorInfo(e: unknown): { name: string; status?: number } {
  const err = e as {
    name?: string;
    Code?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  // A network error's errno code (ECONNREFUSED, ETIMEDOUT) says more than its name.
  const name =
    err?.Code ??
    (err?.name === 'Error' && typeof err.code === 'string' ? err.code : err?.name) ??
    'Error';
  return { name, status: err?.$metadata?.httpStatusCode };
}

function isNotFound(e: unknown): boolean {
  const { name, status } = errorInfo(e);
  return name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket');
}

function storeError(op: string, e: unknown): ObjectStoreError {
  const { name, status } = errorInfo(e);
  // The error's name and status only: no URL, key, bucket or credentials in errors and logs.
  return new ObjectStoreError(`s3 store: ${op} failed (${name}${status ? ` ${status}` : ''})`, {
    cause: e,
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}

/**
 * Objects in an S3-compatible bucket. Puts stream through @aws-sdk/lib-storage
 * multipart uploads of unknown length (bounded memory: about (queueSize + 1)
 * parts); a put that fails or is aborted aborts its multipart upload and
 * removes an object a racing completion may have left.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(config: S3StoreConfig) {
    if (!config.bucket) throw new Error('S3 store needs a bucket');
    if (!!config.accessKeyId !== !!config.secretAccessKey)
      throw new Error(
        'S3 store needs both the access key id and the secret access key, or neither',
      );
    const timeout = config.timeoutMs ?? 30_000;
    this.client = new S3Client({
      endpoint: config.endpoint || undefined,
      region: config.region,
      forcePathStyle: config.forcePathStyle ?? false,
      credentials:
        config.accessKeyId && config.secretAccessKey
          ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
          : undefined,
      maxAttempts: config.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: timeout,
        requestTimeout: timeout,
        throwOnRequestTimeout: true,
        socketTimeout: timeout,
      },
      // Checksums only where S3 requires them: S3-compatible servers differ in the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.bucket = config.bucket;
    this.prefix = config.prefix ? `${config.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
    this.partSize = config.partSize ?? S3_DEFAULT_PART_SIZE;
    this.queueSize = config.queueSize ?? 2;
  }

  private objectKey(key: string): string {
    assertObjectKey(key);
    return this.prefix + key;
  }

  async put(
    key: string,
    body: Readable,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ bytes: number }> {
    let Key: string;
    try {
      Key = this.objectKey(key);
    } catch (e) {
      body.destroy();
      throw e;
    }
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw abortError(signal);
    }
    let bytes = 0;
    let bodyError: Error | undefined;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    body.once('error', (err: Error) => (bodyError ??= err));
    pipeline(body, counted, (err) => {
      if (err) bodyError ??= err;
    });
    // An abort ends the body with an error: lib-storage then stops reading,
    // waits for the parts in flight and aborts the multipart upload before
    // done() rejects (its own abort() would reject at once and clean up later).
    const onAbort = () => {
      bodyError ??= abortError(signal!);
      body.destroy(bodyError);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: counted },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      body.destroy();
      await this.abortMultipart(Key, upload);
      if (bodyError) throw bodyError;
      throw storeError('put', e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted || bodyError) {
      // Aborted while the last request completed: take the object away again.
      await this.delete(key).catch(() => undefined);
      throw bodyError ?? abortError(signal!);
    }
    return { bytes };
  }

  /** lib-storage aborts its multipart upload on failure; this covers an upload id it did not get to. */
  private async abortMultipart(Key: string, upload: Upload): Promise<void> {
    const uploadId = upload.uploadId;
    if (!uploadId) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const Key = this.objectKey(key);
    if (range) assertRange(range);
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      return res.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw new ObjectNotFoundError(key);
      if (errorInfo(e).name === 'InvalidRange' || errorInfo(e).status === 416)
        throw new RangeError('range starts past the end of the object', { cause: e });
      throw storeError('get', e);
    }
  }

  async size(key: string): Promise<number | null> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return res.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw storeError('head', e);
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw storeError('delete', e);
    }
  }

  async *keys(): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix || undefined,
            ContinuationToken,
          }),
        );
      } catch (e) {
        throw storeError('list', e);
      }
      for (const o of res.Contents ?? []) {
        const key = o.Key?.slice(this.prefix.length);
        if (key && isValidObjectKey(key)) yield key;
      }
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** The bucket answers HeadBucket with these credentials. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw storeError('check', e);
    }
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
