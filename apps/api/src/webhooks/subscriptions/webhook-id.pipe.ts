import type { PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '../../common/errors/domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `{id}` of a webhook subscription is a UUID: anything else is a malformed
 * request (400 naming `id`), not a lookup; a well-formed id that is not in
 * the caller's lab is 404 `WEBHOOK_NOT_FOUND`.
 */
export class WebhookIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!UUID.test(value)) throw new ValidationFailedError({ id: 'is not a UUID' });
    return value.toLowerCase();
  }
}
