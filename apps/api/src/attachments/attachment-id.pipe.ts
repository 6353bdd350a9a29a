import type { PipeTransform } from '@nestjs/common';
import { AttachmentsError } from './attachments.errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `{attachment_id}` is a UUID; anything else is a missing attachment (404). */
export class AttachmentIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) throw AttachmentsError.notFound();
    return value.toLowerCase();
  }
}
