import { DomainError } from '../common/errors/domain-error';
import { registerErrorStatuses } from '../common/errors/error-status';

export enum WebhooksErrorCode {
  /** No such subscription in the caller's lab (missing, deleted, or another lab's). */
  NotFound = 'WEBHOOK_NOT_FOUND',
  /** The lab already has WEBHOOKS_MAX_PER_LAB subscriptions. */
  Limit = 'WEBHOOK_LIMIT',
}

registerErrorStatuses<WebhooksErrorCode>({
  [WebhooksErrorCode.NotFound]: 404,
  [WebhooksErrorCode.Limit]: 409,
});

export class WebhooksError extends DomainError<WebhooksErrorCode> {
  static notFound(): WebhooksError {
    return new WebhooksError(WebhooksErrorCode.NotFound, 'Webhook subscription not found');
  }

  static limit(max: number): WebhooksError {
    return new WebhooksError(
      WebhooksErrorCode.Limit,
      `The lab has the most webhook subscriptions allowed (${max}); delete one first`,
      { limit: max },
    );
  }
}
