/** What other modules may use of the webhooks module (docs/architecture.md, "Dependency rules"). */
export { WebhookDeliveryModule } from './delivery/webhook-delivery.module';
export { SECRET_COLUMN as WEBHOOK_SECRET_COLUMN } from './delivery/webhook-worker';
