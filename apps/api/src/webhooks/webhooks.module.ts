import { Module } from '@nestjs/common';
import { EncryptionModule } from '../encryption';
import { WebhookSubscriptionsController } from './subscriptions/webhook-subscriptions.controller';
import { WebhookSubscriptionsRepository } from './subscriptions/webhook-subscriptions.repository';
import { WebhookSubscriptions } from './subscriptions/webhook-subscriptions.service';

/**
 * Webhook subscriptions (issue 17): the `/api/v1/webhooks` routes, their use
 * cases and SQL, and the outbound URL policy. The delivery of events to them
 * is the WebhookDeliveryModule's (delivery/).
 */
@Module({
  imports: [EncryptionModule],
  controllers: [WebhookSubscriptionsController],
  providers: [WebhookSubscriptions, WebhookSubscriptionsRepository],
  exports: [WebhookSubscriptions],
})
export class WebhooksModule {}
