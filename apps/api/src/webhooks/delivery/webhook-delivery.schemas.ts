/** Wire schemas of the delivery log, redeliver and replay (registered by the controller). */
type Schema = Record<string, unknown>;

const ts = (description?: string, nullable = false): Schema => ({
  type: 'string',
  format: 'date-time',
  ...(nullable ? { nullable: true } : {}),
  ...(description ? { description } : {}),
});

const delivery: Schema = {
  type: 'object',
  required: [
    'id',
    'subscription_id',
    'event_id',
    'event_type',
    'case_id',
    'origin',
    'status',
    'attempts',
    'next_attempt_at',
    'last_attempt_at',
    'last_status_code',
    'last_error',
    'delivered_at',
    'created_at',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    subscription_id: { type: 'string', format: 'uuid' },
    event_id: {
      type: 'string',
      format: 'uuid',
      description: 'The event (and the `webhook-id` header of every attempt).',
    },
    event_type: { type: 'string' },
    case_id: { type: 'integer' },
    origin: {
      type: 'string',
      enum: ['live', 'redeliver', 'replay'],
      description: 'Made by the dispatch of the event, by a redeliver, or by a replay.',
    },
    status: { type: 'string', enum: ['pending', 'delivered', 'dead'] },
    attempts: { type: 'integer', minimum: 0 },
    next_attempt_at: ts('When the next attempt is due (pending only).', true),
    last_attempt_at: ts(undefined, true),
    last_status_code: {
      type: 'integer',
      nullable: true,
      description: "The receiver's last HTTP status; null when it did not answer.",
    },
    last_error: {
      type: 'string',
      nullable: true,
      description:
        'Why the last attempt failed, in a few words (`HTTP 500`, `timeout`, `connection refused`, `redirect not followed (HTTP 302)`…); never the response body.',
    },
    delivered_at: ts(undefined, true),
    created_at: ts(),
  },
};

export const WEBHOOK_DELIVERY_SCHEMAS = {
  WebhookDelivery: delivery,
  WebhookDeliveryList: {
    type: 'object',
    required: ['deliveries', 'next_cursor', 'limit'],
    properties: {
      deliveries: { type: 'array', items: { $ref: '#/components/schemas/WebhookDelivery' } },
      next_cursor: {
        type: 'string',
        nullable: true,
        description: 'Pass as `cursor` for the next page; null on the last page.',
      },
      limit: { type: 'integer' },
    },
  },
  WebhookRedeliverInput: {
    type: 'object',
    additionalProperties: false,
    properties: {},
    description: 'An empty object (the API takes a JSON body on every POST).',
  },
  WebhookReplayInput: {
    type: 'object',
    additionalProperties: false,
    required: ['since'],
    properties: {
      since: {
        type: 'string',
        format: 'date-time',
        description: 'Events that occurred at or after this time (not in the future).',
      },
      until: {
        type: 'string',
        format: 'date-time',
        description: 'Events that occurred before this time. Default: now.',
      },
    },
  },
  WebhookReplay: {
    type: 'object',
    required: ['deliveries', 'since', 'until'],
    properties: {
      deliveries: {
        type: 'integer',
        description: 'Deliveries made (one per event of the window the subscription takes).',
      },
      since: ts(),
      until: ts(),
    },
  },
} as const;

export interface ReplayBody {
  since: string;
  until?: string;
}
