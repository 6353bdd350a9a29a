/**
 * The catalogue of outbox event types (issue 17, docs/events.md): every type
 * the outbox holds, declared once, with the case timeline entry it comes
 * from and its own payload fields. The migration's trigger
 * (`lhcms_case_outbox_from_timeline`) maps timeline rows to these types and
 * the table's CHECK allows exactly them; test/events/outbox.int-spec.ts fails
 * when either disagrees with this list. Webhook subscriptions, the SSE feed
 * and the NATS subjects (`lhcms.<lab_id>.<type>`) will validate against it.
 *
 * `fields`: the payload fields of the type beyond what every event carries
 * (the case snapshot and the actor), as JSON Schema properties.
 */
export const OUTBOX_EVENT_TYPES = {
  'case.created': {
    from: ['created'],
    description: 'A case was created (status pending).',
    fields: {},
  },
  'case.updated': {
    from: ['updated'],
    description:
      'Fields of a case other than status, stage and due date changed. `changed_fields` names every changed field (PHI fields by name only); `changes` holds old and new values of snapshot fields only.',
    fields: {
      changed_fields: { type: 'array', items: { type: 'string' } },
      changes: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          properties: { from: {}, to: {} },
          required: ['from', 'to'],
          additionalProperties: false,
        },
      },
    },
  },
  'case.status_changed': {
    from: ['status_changed', 'reopened'],
    description:
      'The status of a case moved (including a reopen, `reopened: true`). A case entering production for the first time also gets its first stage: `to_stage`.',
    fields: {
      from_status: { type: 'string' },
      to_status: { type: 'string' },
      from_stage: { type: ['string', 'null'] },
      to_stage: { type: ['string', 'null'] },
      reopened: { type: 'boolean' },
    },
  },
  'case.stage_changed': {
    from: ['stage_changed'],
    description: 'A case in production moved to another stage.',
    fields: {
      from_stage: { type: ['string', 'null'] },
      to_stage: { type: ['string', 'null'] },
    },
  },
  'case.due_date_changed': {
    from: ['updated'],
    description:
      'The due date of a case changed (a reschedule; the ship-by date follows it). An update that changes other fields as well emits `case.updated` too, with the next `seq`.',
    fields: {
      from_due_date: { type: ['string', 'null'], format: 'date' },
      to_due_date: { type: ['string', 'null'], format: 'date' },
      from_ship_by: { type: ['string', 'null'], format: 'date' },
      to_ship_by: { type: ['string', 'null'], format: 'date' },
    },
  },
  'case.deleted': {
    from: ['deleted'],
    description: 'A case was deleted (soft delete: it left the API).',
    fields: {},
  },
  'case.note_added': {
    from: ['note_created'],
    description: 'A note was added to a case: which note, never its text.',
    fields: { note_id: { type: 'integer' } },
  },
  'case.attachment_added': {
    from: ['attachment_added'],
    description: 'A file was attached to a case: its id and kind, never its name.',
    fields: {
      attachment_id: { type: 'string', format: 'uuid' },
      attachment_kind: { type: 'string' },
    },
  },
} as const satisfies Record<
  string,
  { from: readonly string[]; description: string; fields: Record<string, object> }
>;

export type OutboxEventType = keyof typeof OUTBOX_EVENT_TYPES;

export const OUTBOX_EVENT_TYPE_NAMES = Object.keys(OUTBOX_EVENT_TYPES) as OutboxEventType[];

export function isOutboxEventType(v: string): v is OutboxEventType {
  return Object.hasOwn(OUTBOX_EVENT_TYPES, v);
}
