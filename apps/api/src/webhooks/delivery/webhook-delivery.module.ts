import { Module } from '@nestjs/common';
import { EncryptionModule } from '../../encryption';
import { EventsModule } from '../../events';
import { WebhookDeliveriesController } from './webhook-deliveries.controller';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhookFanOut } from './webhook-fan-out';
import { WebhookWorker } from './webhook-worker';

/**
 * Webhook delivery (docs/events.md "Delivery"): the outbox channel that fans
 * events out to the subscriptions, the worker that sends them, and the
 * delivery log, redeliver and replay routes. The subscriptions themselves are
 * the WebhooksModule's.
 */
@Module({
  imports: [EventsModule, EncryptionModule],
  controllers: [WebhookDeliveriesController],
  providers: [WebhookWorker, WebhookFanOut, WebhookDeliveriesService],
  exports: [WebhookWorker],
})
export class WebhookDeliveryModule {}
