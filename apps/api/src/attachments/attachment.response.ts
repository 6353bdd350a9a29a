import type { AttachmentKind, StoredAttachment } from './attachments.repository';

/** An attachment's metadata as the API answers it (never its bytes, object key or key version). */
export interface AttachmentResponse {
  id: string;
  case_id: number;
  kind: AttachmentKind;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  uploaded_by: string;
  created_at: string;
}

export function toAttachmentResponse(row: StoredAttachment, filename: string): AttachmentResponse {
  return {
    id: row.id,
    case_id: Number(row.case_id),
    kind: row.kind,
    filename,
    content_type: row.content_type,
    size: Number(row.size_bytes),
    sha256: row.sha256,
    uploaded_by: row.uploaded_by,
    created_at: row.created_at,
  };
}

/** The ETag of an attachment's content: its SHA-256 (strong: the bytes never change). */
export function contentEtag(sha256: string): string {
  return `"${sha256}"`;
}
