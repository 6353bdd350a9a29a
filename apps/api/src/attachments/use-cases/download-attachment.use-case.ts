import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import {
  ObjectNotFoundError,
  type ObjectStore,
  ObjectStoreError,
  TransferGc,
} from '@lhcms/storage';
import { CasesError } from '../../case-model';
import { DataKeyService, PhiCipher, TEXT_BINDING } from '../../encryption';
import { MetricsService } from '../../metrics';
import {
  decryptingStream,
  isIntegrityError,
  rangeReader,
  STORED_HEADER_BYTES,
  storedSizeOf,
} from '../attachment-cipher';
import { ATTACHMENT_STORE } from '../attachment-store';
import { contentEtag } from '../attachment.response';
import type { AuditSubjects } from '../../audit';
import { AttachmentsError } from '../attachments.errors';
import { AttachmentsRepository, type StoredAttachment } from '../attachments.repository';
import { type ByteRange, parseRange } from '../byte-range';
import type { AttachmentActor } from './attachment-actor';

/** A download ready to be sent: the headers' facts and the verified plaintext stream. */
export interface AttachmentContent {
  filename: string;
  contentType: string;
  etag: string;
  size: number;
  /** The range served (206), or undefined for the whole file (200). */
  range?: ByteRange;
  /** Bytes the body carries. */
  length: number;
  stream: Readable;
  audit: AuditSubjects;
}

/**
 * Download (GET …/attachments/{id}/content): the stored object, decrypted
 * as it streams, whole or one byte range (only the segments covering it are
 * read). The object's size is checked against the row before anything is
 * read, and the first segment is authenticated before the answer starts, so
 * a missing, cut or tampered object is an error response (500, logged,
 * counted), never bytes. A fault found later in a long file cuts the
 * connection: the client sees a short body that does not match
 * Content-Length and the ETag, never a silent wrong file.
 */
@Injectable()
export class DownloadAttachment {
  private readonly log = new Logger('Attachments');

  constructor(
    private readonly db: TenantDb,
    private readonly repo: AttachmentsRepository,
    private readonly keys: DataKeyService,
    private readonly phi: PhiCipher,
    private readonly metrics: MetricsService,
    @Inject(ATTACHMENT_STORE) private readonly store: ObjectStore,
    private readonly gc: TransferGc,
  ) {}

  async run(
    actor: AttachmentActor,
    caseId: number,
    id: string,
    rangeHeader: string | undefined,
    ifRange: string | undefined,
  ): Promise<AttachmentContent> {
    const { labId } = actor;
    const { c, row } = await this.db.read(labId, async (em) => {
      const c = await this.repo.liveCase(em, labId, caseId);
      if (!c) throw CasesError.notFound();
      const row = await this.repo.find(em, labId, caseId, id);
      if (!row) throw AttachmentsError.notFound();
      return { c, row };
    });
    const size = Number(row.size_bytes);
    const etag = contentEtag(row.sha256);
    // If-Range naming another version: the whole file (RFC 9110 §13.1.5).
    const asked = ifRange !== undefined && ifRange.trim() !== etag ? undefined : rangeHeader;
    const range = parseRange(asked, size);
    if (range === 'unsatisfiable') throw AttachmentsError.rangeNotSatisfiable(size);

    const stream = await this.open(row, labId, size, range);
    const length = range ? range.end - range.start + 1 : size;
    const filename = await this.phi.decryptText(
      labId,
      TEXT_BINDING.attachmentFilename(),
      row.filename,
    );
    const patient = await this.phi.decrypt<{ patient_info: unknown }>(labId, c);
    return {
      filename,
      contentType: row.content_type,
      etag,
      size,
      range,
      length,
      stream,
      audit: {
        ids: [row.id],
        patients: [patient.patient_info],
        detail: {
          case_id: caseId,
          bytes_served: length,
          ...(range ? { range: `${range.start}-${range.end}` } : {}),
        },
      },
    };
  }

  private async open(
    row: StoredAttachment,
    labId: string,
    size: number,
    range: ByteRange | undefined,
  ): Promise<Readable> {
    try {
      const storedSize = await this.store.size(row.object_key);
      if (storedSize === null) throw this.integrity(row, 'object missing');
      if (storedSize !== Number(row.stored_bytes) || storedSize !== storedSizeOf(size)) {
        throw this.integrity(row, 'object size differs from the row');
      }
      const dk = await this.keys.keyFor(labId, row.key_version);
      let plain: Readable;
      if (!range) {
        const source = await this.store.get(row.object_key);
        plain = source.pipe(decryptingStream(dk.key, labId, row.id));
        source.once('error', (err) => plain.destroy(err));
      } else {
        const reader = rangeReader(range.start, range.end, size);
        const header = await buffer(
          await this.store.get(row.object_key, { start: 0, end: STORED_HEADER_BYTES - 1 }),
        );
        const source = await this.store.get(row.object_key, reader.stored);
        plain = source.pipe(reader.decrypt(dk.key, labId, row.id, header));
        source.once('error', (err) => plain.destroy(err));
      }
      return await this.primed(plain, row);
    } catch (err) {
      if (err instanceof AttachmentsError) throw err;
      if (isIntegrityError(err) || err instanceof ObjectNotFoundError) {
        throw this.integrity(
          row,
          err instanceof ObjectNotFoundError ? 'object missing' : 'authentication failed',
        );
      }
      if (err instanceof ObjectStoreError) throw AttachmentsError.storeUnavailable();
      throw err;
    }
  }

  /**
   * The plaintext stream once its first bytes are authenticated (so the
   * answer only starts for an object that decrypts), counting bytes out and
   * logging an integrity fault that surfaces later.
   */
  private primed(plain: Readable, row: StoredAttachment): Promise<Readable> {
    const { metrics, gc } = this;
    const onLateError = (err: Error): void => {
      if (isIntegrityError(err)) this.integrity(row, 'authentication failed mid-stream');
      else
        this.log.warn(
          { err: { type: err.name }, attachment_id: row.id },
          'attachment stream failed',
        );
    };
    return new Promise<Readable>((resolve, reject) => {
      const counted = new Transform({
        transform(chunk: Buffer, _e, cb: TransformCallback) {
          metrics.attachmentTransfer('out', chunk.length);
          gc.note(chunk.length);
          cb(null, chunk);
        },
      });
      const onError = (err: Error): void => reject(err);
      plain.once('error', onError);
      plain.once('readable', () => {
        plain.off('error', onError);
        plain.on('error', (err) => {
          onLateError(err);
          counted.destroy(err);
        });
        plain.pipe(counted);
        resolve(counted);
      });
    });
  }

  /** Logs and counts a stored object that is not what was written; the error to answer with. */
  private integrity(row: StoredAttachment, what: string): AttachmentsError {
    this.metrics.attachmentIntegrityFailure();
    this.log.error(
      { attachment_id: row.id, case_id: row.case_id, problem: what },
      'attachment integrity check failed',
    );
    return AttachmentsError.integrity();
  }
}
