import { DomainError } from '../../common/errors/domain-error';
import { registerErrorStatuses } from '../../common/errors/error-status';

export enum WebhookDeliveryErrorCode {
  DeliveryNotFound = 'WEBHOOK_DELIVERY_NOT_FOUND',
  InvalidQuery = 'WEBHOOK_INVALID_QUERY',
  InvalidReplay = 'WEBHOOK_INVALID_REPLAY',
  ReplayTooLarge = 'WEBHOOK_REPLAY_TOO_LARGE',
}

registerErrorStatuses<WebhookDeliveryErrorCode>({
  [WebhookDeliveryErrorCode.DeliveryNotFound]: 404,
  [WebhookDeliveryErrorCode.InvalidQuery]: 400,
  [WebhookDeliveryErrorCode.InvalidReplay]: 400,
  [WebhookDeliveryErrorCode.ReplayTooLarge]: 400,
});

export class WebhookDeliveryError extends DomainError<WebhookDeliveryErrorCode> {
  static deliveryNotFound(): WebhookDeliveryError {
    return new WebhookDeliveryError(
      WebhookDeliveryErrorCode.DeliveryNotFound,
      'Webhook delivery not found',
    );
  }

  static invalidQuery(errors: Record<string, string>): WebhookDeliveryError {
    return new WebhookDeliveryError(
      WebhookDeliveryErrorCode.InvalidQuery,
      'Invalid query parameters',
      { errors },
    );
  }

  static invalidReplay(errors: Record<string, string>): WebhookDeliveryError {
    return new WebhookDeliveryError(
      WebhookDeliveryErrorCode.InvalidReplay,
      'Invalid replay window',
      { errors },
    );
  }

  static replayTooLarge(max: number): WebhookDeliveryError {
    return new WebhookDeliveryError(
      WebhookDeliveryErrorCode.ReplayTooLarge,
      `The window holds more events than one replay may send (${max}); replay shorter windows`,
      { max },
    );
  }
}
