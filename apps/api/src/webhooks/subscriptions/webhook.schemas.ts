import { OUTBOX_EVENT_TYPE_NAMES, type OutboxEventType } from '../../events';
import { WEBHOOK_URL_MAX_LENGTH } from '../url-policy';

/** Wire schemas of webhook subscriptions (registered by the controller's SchemaPipes). */
type Schema = Record<string, unknown>;

const URL_FIELD: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: WEBHOOK_URL_MAX_LENGTH,
  description:
    'Where the events are POSTed: an absolute `https://` URL (`http://` too outside production), without credentials or fragment, whose host is a public address (docs/events.md, "URL policy").',
  example: 'https://hooks.example.com/lhcms',
};

const EVENTS_FIELD: Schema = {
  type: 'array',
  minItems: 1,
  maxItems: OUTBOX_EVENT_TYPE_NAMES.length,
  uniqueItems: true,
  items: { type: 'string', enum: [...OUTBOX_EVENT_TYPE_NAMES] },
  description: 'The event types to receive (at least one, each once; no wildcard).',
  example: ['case.created', 'case.status_changed'],
};

const ACTIVE_FIELD: Schema = {
  type: 'boolean',
  description: 'Whether events are delivered (default true); an inactive subscription gets none.',
};

const timestamp = (description: string, nullable = false): Schema => ({
  type: 'string',
  format: 'date-time',
  description,
  ...(nullable ? { nullable: true } : {}),
});

const SUBSCRIPTION_FIELDS: Schema = {
  id: { type: 'string', format: 'uuid' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string', enum: [...OUTBOX_EVENT_TYPE_NAMES] } },
  active: { type: 'boolean' },
  created_by: { type: 'string', description: 'The user who made the subscription.' },
  created_at: timestamp('When it was made.'),
  updated_at: timestamp('When it last changed (its secret included).'),
  previous_secret_expires_at: timestamp(
    'After a rotation: until when the previous secret still signs (a second signature); null otherwise.',
    true,
  ),
};

const SUBSCRIPTION: Schema = {
  type: 'object',
  required: Object.keys(SUBSCRIPTION_FIELDS),
  properties: SUBSCRIPTION_FIELDS,
};

export const WEBHOOK_SCHEMAS = {
  WebhookSubscriptionInput: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'events'],
    properties: { url: URL_FIELD, events: EVENTS_FIELD, active: ACTIVE_FIELD },
  },
  WebhookSubscriptionUpdate: {
    type: 'object',
    additionalProperties: false,
    description: 'The fields to change (at least one); a new `url` is checked like a new one.',
    properties: { url: URL_FIELD, events: EVENTS_FIELD, active: ACTIVE_FIELD },
  },
  WebhookSecretRotation: {
    type: 'object',
    additionalProperties: false,
    properties: {},
    description: 'Takes no fields: send `{}` (every POST of the API carries a JSON body).',
  },
  WebhookSubscription: SUBSCRIPTION,
  WebhookSubscriptionWithSecret: {
    type: 'object',
    required: [...Object.keys(SUBSCRIPTION_FIELDS), 'secret'],
    properties: {
      ...SUBSCRIPTION_FIELDS,
      secret: {
        type: 'string',
        pattern: '^whsec_[A-Za-z0-9+/]{43}=$',
        description:
          'The signing secret (Standard Webhooks: `whsec_` and base64 of 32 random bytes). Shown only in this answer; store it now.',
      },
    },
  },
  WebhookSubscriptionList: {
    type: 'object',
    required: ['webhooks'],
    properties: { webhooks: { type: 'array', items: SUBSCRIPTION } },
  },
} as const;

export interface WebhookInputBody {
  url: string;
  events: OutboxEventType[];
  active?: boolean;
}

export type WebhookUpdateBody = Partial<WebhookInputBody>;
