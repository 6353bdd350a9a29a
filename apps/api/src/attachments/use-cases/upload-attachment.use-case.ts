import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { newObjectKey, type ObjectStore, ObjectStoreError, TransferGc } from '@lhcms/storage';
import { AuditService } from '../../audit';
import { CasesError } from '../../case-model';
import { DomainError } from '../../common/errors/domain-error';
import { DataKeyService, PhiCipher, TEXT_BINDING } from '../../encryption';
import { MetricsService } from '../../metrics';
import { ATTACHMENT_STORE } from '../attachment-store';
import { type AttachmentResponse, toAttachmentResponse } from '../attachment.response';
import { AttachmentsError, AttachmentsErrorCode } from '../attachments.errors';
import {
  ATTACHMENT_KINDS,
  type AttachmentKind,
  AttachmentsRepository,
} from '../attachments.repository';
import { claimedSha256 } from '../checksum';
import { sanitizeFilename } from '../filename';
import { defaultKind } from '../sniff';
import type { AttachmentActor } from './attachment-actor';
import { type StoredFile, streamToStore, UploadAbortedError } from './stream-to-store';

/** One part of a multipart body, as @fastify/multipart yields it. */
export type UploadPart =
  | {
      type: 'file';
      fieldname: string;
      filename: string;
      file: Readable & { truncated?: boolean };
    }
  | { type: 'field'; fieldname: string; value: unknown };

/** The upload as the use case sees it: the parts (busboy limits per request), the headers, the client's presence. */
export interface UploadRequest {
  parts(limits: { fileSize: number }): AsyncIterable<UploadPart>;
  headers: Record<string, string | string[] | undefined>;
  /** Aborted when the client goes away before the upload is complete. */
  signal: AbortSignal;
}

const FIELD_MAX = 200;

/** @fastify/multipart's refusals, as this API answers them. */
function multipartError(err: unknown): DomainError | undefined {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'FST_FILES_LIMIT':
      return AttachmentsError.invalid('file', 'send exactly one file per upload');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return AttachmentsError.invalid('', 'too many parts in the upload');
    case 'FST_PROTO_VIOLATION':
      return AttachmentsError.invalid('', 'a part name is not allowed');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return AttachmentsError.invalid('', 'the request must be multipart/form-data');
    case 'FST_MP_PREMATURE_CLOSE':
      return AttachmentsError.invalid('', 'the upload ended before it was complete');
    default:
      if (
        err instanceof Error &&
        /Unexpected end of (form|multipart)|boundary/i.test(err.message)
      ) {
        return AttachmentsError.invalid('', 'the multipart body is malformed or incomplete');
      }
      return undefined;
  }
}

/**
 * Upload (POST /cases/{id}/attachments): streams the one file part into the
 * object store, encrypted, and records the row, its timeline entry and its
 * audit row in one transaction. Nothing is kept of a refused, failed or
 * aborted upload: the object is removed and no row is written.
 */
@Injectable()
export class UploadAttachment {
  private readonly log = new Logger('Attachments');

  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: AttachmentsRepository,
    private readonly keys: DataKeyService,
    private readonly phi: PhiCipher,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    @Inject(ATTACHMENT_STORE) private readonly store: ObjectStore,
    private readonly gc: TransferGc,
  ) {}

  async run(
    actor: AttachmentActor,
    caseId: number,
    upload: UploadRequest,
  ): Promise<AttachmentResponse> {
    try {
      const r = await this.upload(actor, caseId, upload);
      this.metrics.attachmentUpload('stored');
      return r;
    } catch (err) {
      const refused =
        err instanceof DomainError &&
        !(err instanceof AttachmentsError && err.code === AttachmentsErrorCode.StoreUnavailable);
      this.metrics.attachmentUpload(
        upload.signal.aborted || err instanceof UploadAbortedError
          ? 'aborted'
          : refused
            ? 'refused'
            : 'failed',
      );
      if (err instanceof UploadAbortedError)
        throw AttachmentsError.invalid('', 'the upload was aborted');
      throw err;
    }
  }

  private async upload(
    actor: AttachmentActor,
    caseId: number,
    upload: UploadRequest,
  ): Promise<AttachmentResponse> {
    const { labId } = actor;
    // The case and its limits first: a refusal costs the client no upload.
    const usage = await this.db.read(labId, async (em) => {
      if (!(await this.repo.liveCase(em, labId, caseId))) throw CasesError.notFound();
      return this.repo.usage(em, labId, caseId);
    });
    this.checkLimits(usage, 0);
    const remaining = this.env.ATTACHMENT_MAX_CASE_BYTES - usage.bytes;
    const fileLimit = Math.min(this.env.ATTACHMENT_MAX_BYTES, remaining);
    const tooLarge = () =>
      fileLimit < this.env.ATTACHMENT_MAX_BYTES
        ? AttachmentsError.tooLarge(this.env.ATTACHMENT_MAX_CASE_BYTES, 'case')
        : AttachmentsError.tooLarge(this.env.ATTACHMENT_MAX_BYTES, 'file');

    const id = randomUUID();
    const objectKey = newObjectKey();
    const dk = await this.keys.currentKey(labId);
    let stored: StoredFile | undefined;
    let filename = '';
    const fields: Record<string, string> = {};
    try {
      try {
        for await (const part of upload.parts({ fileSize: fileLimit })) {
          if (part.type === 'field') {
            this.field(fields, part.fieldname, part.value);
            continue;
          }
          if (part.fieldname !== 'file') {
            part.file.destroy();
            throw AttachmentsError.invalid(
              part.fieldname,
              "the file must be sent in the part named 'file'",
            );
          }
          if (stored) {
            part.file.destroy();
            throw AttachmentsError.invalid('file', 'send exactly one file per upload');
          }
          filename = sanitizeFilename(part.filename);
          stored = await streamToStore(
            part.file,
            {
              store: this.store,
              objectKey,
              key: dk.key,
              labId,
              attachmentId: id,
              allowedTypes: this.env.ATTACHMENT_ALLOWED_TYPES,
              filename,
              onBytes: (n) => {
                this.metrics.attachmentTransfer('in', n);
                this.gc.note(n);
              },
              signal: upload.signal,
            },
            tooLarge,
          );
        }
      } catch (err) {
        if (err instanceof DomainError || err instanceof UploadAbortedError) throw err;
        if (upload.signal.aborted) throw new UploadAbortedError();
        const mapped = multipartError(err);
        if (mapped) throw mapped;
        if (isStoreFault(err)) {
          this.log.warn(
            { err: { type: (err as Error).name } },
            'attachment store failed during an upload',
          );
          throw AttachmentsError.storeUnavailable();
        }
        throw err;
      }
      if (!stored) throw AttachmentsError.invalid('file', "a file part named 'file' is required");
      const kind = this.kindOf(fields.kind, stored.mime);
      const claimed = claimedSha256(fields.sha256, upload.headers);
      if (claimed === 'invalid')
        throw AttachmentsError.invalid('sha256', 'must be a SHA-256 (hex or base64)');
      if (claimed !== undefined && claimed !== stored.receivedSha256) {
        throw AttachmentsError.checksumMismatch();
      }
      const file = stored;
      const encryptedName = await this.phi.encryptText(
        labId,
        TEXT_BINDING.attachmentFilename(),
        filename,
      );
      const row = await this.db.withLab(labId, async (em) => {
        const c = await this.repo.liveCase(em, labId, caseId, true);
        if (!c) throw CasesError.notFound();
        this.checkLimits(await this.repo.usage(em, labId, caseId), file.size);
        const inserted = await this.repo.insert(em, {
          id,
          labId,
          caseId,
          kind,
          filename: encryptedName,
          contentType: file.mime,
          size: file.size,
          sha256: file.sha256,
          objectKey,
          storedBytes: file.storedBytes,
          keyVersion: dk.version,
          uploadedBy: actor.userId,
          requestId: actor.requestId,
        });
        await this.repo.timelineEvent(em, {
          labId,
          caseId,
          type: 'attachment_added',
          actorUserId: actor.userId,
          attachmentId: id,
          kind,
          requestId: actor.requestId,
        });
        const patient = await this.phi.decrypt<{ patient_info: unknown }>(labId, c);
        await this.audit.recordChange(em, {
          labId,
          resourceType: 'attachment',
          resourceId: id,
          interaction: 'create',
          changedFields: [
            { field: 'case_id', new: caseId },
            { field: 'kind', new: kind },
            { field: 'content_type', new: file.mime },
            { field: 'size', new: file.size },
            { field: 'sha256', new: file.sha256 },
            { field: 'filename' },
          ],
          patients: [patient.patient_info],
        });
        return inserted;
      });
      return toAttachmentResponse(row, filename);
    } catch (err) {
      await this.store.delete(objectKey).catch(() => undefined);
      throw err;
    }
  }

  private field(fields: Record<string, string>, name: string, value: unknown): void {
    if (name !== 'kind' && name !== 'sha256') {
      throw AttachmentsError.invalid(name, "unknown field (allowed: 'file', 'kind', 'sha256')");
    }
    if (fields[name] !== undefined) throw AttachmentsError.invalid(name, 'sent more than once');
    if (typeof value !== 'string' || value.length > FIELD_MAX) {
      throw AttachmentsError.invalid(name, 'must be a short text');
    }
    fields[name] = value;
  }

  private kindOf(sent: string | undefined, mime: string): AttachmentKind {
    if (sent === undefined) return defaultKind(mime);
    if (!(ATTACHMENT_KINDS as readonly string[]).includes(sent)) {
      throw AttachmentsError.invalid('kind', `must be one of ${ATTACHMENT_KINDS.join(', ')}`);
    }
    return sent as AttachmentKind;
  }

  private checkLimits(usage: { count: number; bytes: number }, adding: number): void {
    if (usage.count >= this.env.ATTACHMENT_MAX_PER_CASE) {
      throw AttachmentsError.caseLimit(this.env.ATTACHMENT_MAX_PER_CASE);
    }
    if (usage.bytes + Math.max(adding, 1) > this.env.ATTACHMENT_MAX_CASE_BYTES) {
      throw AttachmentsError.tooLarge(this.env.ATTACHMENT_MAX_CASE_BYTES, 'case');
    }
  }
}

/** A fault of the object store (not of the upload): 503. */
export function isStoreFault(err: unknown): boolean {
  return err instanceof ObjectStoreError;
}
