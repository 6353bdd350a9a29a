import { ATTACHMENT_KINDS } from './attachments.repository';

const str = (extra: Record<string, unknown> = {}) => ({ type: 'string', ...extra });

/** The wire schemas of the attachment routes (request bodies validated; all in the OpenAPI document). */
export const ATTACHMENT_SCHEMAS: Record<string, object> = {
  Attachment: {
    type: 'object',
    description:
      "An attachment's metadata. `size` and `sha256` are of the bytes as stored and served: for JPEG and PNG that is the file without its EXIF/GPS, XMP, IPTC and text metadata, which is removed on upload.",
    required: [
      'id',
      'case_id',
      'kind',
      'filename',
      'content_type',
      'size',
      'sha256',
      'uploaded_by',
      'created_at',
    ],
    properties: {
      id: str({ format: 'uuid' }),
      case_id: { type: 'integer' },
      kind: str({ enum: [...ATTACHMENT_KINDS] }),
      filename: str({
        description:
          'The original filename, sanitised: no folders, control characters or bidi overrides, at most 200 characters.',
      }),
      content_type: str({ description: 'Sniffed from the bytes, never taken from the client.' }),
      size: { type: 'integer', minimum: 1 },
      sha256: str({ pattern: '^[0-9a-f]{64}$' }),
      uploaded_by: str(),
      created_at: str({ format: 'date-time' }),
    },
  },
  AttachmentList: {
    type: 'object',
    required: ['attachments'],
    properties: {
      attachments: { type: 'array', items: { $ref: '#/components/schemas/Attachment' } },
    },
  },
  AttachmentUpload: {
    type: 'object',
    description:
      "multipart/form-data with exactly one file part named `file`; optional text parts `kind` and `sha256` (the file's SHA-256, hex or base64; or send `Content-Digest: sha-256=:…:`).",
    required: ['file'],
    properties: {
      file: str({ format: 'binary' }),
      kind: str({ enum: [...ATTACHMENT_KINDS] }),
      sha256: str(),
    },
  },
  AttachmentDelete: {
    type: 'object',
    required: ['reason'],
    additionalProperties: false,
    properties: { reason: str({ minLength: 1, maxLength: 500 }) },
  },
};

export interface AttachmentDeleteBody {
  reason: string;
}
