/** What other modules may use of the webhooks module (docs/architecture.md, "Dependency rules"). */
export { WebhooksModule } from './webhooks.module';
export { WebhooksError, WebhooksErrorCode } from './webhooks.errors';
export {
  addressAllowed,
  checkWebhookUrl,
  type WebhookUrlPolicy,
  webhookUrlPolicy,
} from './url-policy';
export { newWebhookSecret, WEBHOOK_SECRET_BINDING } from './webhook-secret';
