import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum AttachmentsErrorCode {
  NotFound = 'ATTACHMENT_NOT_FOUND',
  InvalidUpload = 'ATTACHMENT_INVALID_UPLOAD',
  EmptyFile = 'ATTACHMENT_EMPTY_FILE',
  TooLarge = 'ATTACHMENT_TOO_LARGE',
  CaseLimit = 'ATTACHMENT_CASE_LIMIT',
  UnsupportedType = 'ATTACHMENT_UNSUPPORTED_TYPE',
  ChecksumMismatch = 'ATTACHMENT_CHECKSUM_MISMATCH',
  RangeNotSatisfiable = 'ATTACHMENT_RANGE_NOT_SATISFIABLE',
  Integrity = 'ATTACHMENT_INTEGRITY',
  StoreUnavailable = 'ATTACHMENT_STORE_UNAVAILABLE',
}

/** The HTTP status of each code (the exception filter answers with it). */
registerErrorStatuses<AttachmentsErrorCode>({
  [AttachmentsErrorCode.NotFound]: 404,
  [AttachmentsErrorCode.InvalidUpload]: 400,
  [AttachmentsErrorCode.EmptyFile]: 400,
  [AttachmentsErrorCode.TooLarge]: 413,
  [AttachmentsErrorCode.CaseLimit]: 409,
  [AttachmentsErrorCode.UnsupportedType]: 415,
  [AttachmentsErrorCode.ChecksumMismatch]: 422,
  [AttachmentsErrorCode.RangeNotSatisfiable]: 416,
  // The stored object is not what was written (tampered, cut): a fault, logged and counted.
  [AttachmentsErrorCode.Integrity]: 500,
  [AttachmentsErrorCode.StoreUnavailable]: 503,
});

export class AttachmentsError extends DomainError<AttachmentsErrorCode> {
  /** A missing, deleted or other lab's attachment are indistinguishable. */
  static notFound(): AttachmentsError {
    return new AttachmentsError(AttachmentsErrorCode.NotFound, 'Attachment not found');
  }

  static invalid(field: string, message: string): AttachmentsError {
    return new AttachmentsError(AttachmentsErrorCode.InvalidUpload, `Invalid upload: ${message}`, {
      errors: { [field]: message },
    });
  }

  static empty(): AttachmentsError {
    return new AttachmentsError(AttachmentsErrorCode.EmptyFile, 'The uploaded file is empty', {
      errors: { file: 'must not be empty' },
    });
  }

  static tooLarge(limit: number, what: 'file' | 'case'): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.TooLarge,
      what === 'file'
        ? `The file is larger than the limit of ${limit} bytes`
        : `The file would take the case's attachments past their total limit of ${limit} bytes`,
      { limit_bytes: limit },
    );
  }

  static caseLimit(limit: number): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.CaseLimit,
      `The case already has the most attachments allowed (${limit})`,
      { limit },
    );
  }

  /** The sniffed type is not allowed, or (`named`) contradicts the filename's extension. */
  static unsupportedType(
    detected: string,
    allowed: readonly string[],
    named?: string,
  ): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.UnsupportedType,
      named
        ? `The file is ${detected}, not what its name says (${named})`
        : `Files of type ${detected} are not accepted`,
      { detected_type: detected, allowed_types: allowed },
    );
  }

  static checksumMismatch(): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.ChecksumMismatch,
      'The SHA-256 of the received file does not match the checksum sent',
    );
  }

  static rangeNotSatisfiable(size: number): AttachmentsError {
    const e = new AttachmentsError(
      AttachmentsErrorCode.RangeNotSatisfiable,
      'The requested range is beyond the end of the file',
      { size },
    );
    e.headers = { 'content-range': `bytes */${size}` };
    return e;
  }

  static integrity(): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.Integrity,
      'The stored file failed its integrity check and is not served',
    );
  }

  static storeUnavailable(): AttachmentsError {
    return new AttachmentsError(
      AttachmentsErrorCode.StoreUnavailable,
      'Attachment storage unavailable',
    );
  }
}
