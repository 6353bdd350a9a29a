import type { Env } from '@lhcms/config';
import { FilesystemObjectStore } from './filesystem-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-store';

/** The configuration variables the attachment store is made from (docs/operations.md, "Attachment storage"). */
export type ObjectStoreEnv = Pick<
  Env,
  | 'ATTACHMENT_STORE'
  | 'attachmentDir'
  | 'S3_ENDPOINT'
  | 'S3_BUCKET'
  | 'S3_REGION'
  | 'S3_FORCE_PATH_STYLE'
  | 'S3_ACCESS_KEY_ID'
  | 'S3_SECRET_ACCESS_KEY'
  | 'S3_TIMEOUT_MS'
>;

/** The attachment store ATTACHMENT_STORE names. Nothing is contacted until the first call. */
export function createObjectStore(env: ObjectStoreEnv): ObjectStore {
  if (env.ATTACHMENT_STORE === 's3') {
    if (!env.S3_BUCKET) throw new Error('S3_BUCKET is required with ATTACHMENT_STORE=s3');
    return new S3ObjectStore({
      endpoint: env.S3_ENDPOINT,
      bucket: env.S3_BUCKET,
      region: env.S3_REGION,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      timeoutMs: env.S3_TIMEOUT_MS,
    });
  }
  return new FilesystemObjectStore(env.attachmentDir);
}
