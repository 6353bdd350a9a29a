import { CASE_TABLE, type CaseColumn, type ColumnSpec } from '../case-model';
import { OUTBOX_EVENT_TYPES, type OutboxEventType } from './event-types';

/**
 * Columns every event carries in its envelope (`case_id`, `lab_id`,
 * `case_number`), so not repeated in the payload's case snapshot.
 */
const ENVELOPE: ReadonlySet<string> = new Set(['id', 'lab_id', 'case_number']);

/**
 * Whether a column of the case catalogue may appear in an event payload:
 * plain (never encrypted or a blind index: the catalogue encrypts every PHI
 * column, free text included), sent on the API (`wire`: no internal
 * column), not free text by type, not in the envelope. The allowlist is
 * derived here, never listed by hand.
 */
export function isEventSafe(name: string, c: ColumnSpec): boolean {
  return c.phi === 'plain' && c.wire !== null && c.sql !== 'text' && !ENVELOPE.has(name);
}

/** The case snapshot of every payload (`payload.case`), in table order, under their wire names. */
export const SNAPSHOT_COLUMNS: readonly CaseColumn[] = (
  Object.entries(CASE_TABLE) as Array<[CaseColumn, ColumnSpec]>
)
  .filter(([name, c]) => isEventSafe(name, c))
  .map(([name]) => name);

const SQL_SCHEMA: Record<string, object> = {
  integer: { type: 'integer' },
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date' },
  timestamptz: { type: 'string', format: 'date-time' },
};

function columnSchema(c: ColumnSpec): object {
  const base = SQL_SCHEMA[c.sql] ?? { type: 'string' };
  const t = (base as { type: string }).type;
  return c.nullable ? { ...base, type: [t, 'null'] } : base;
}

/** The JSON Schema of `payload.case`. */
export function snapshotSchema(): object {
  return {
    type: 'object',
    properties: Object.fromEntries(
      SNAPSHOT_COLUMNS.map((n): [string, object] => [
        String(CASE_TABLE[n].wire),
        columnSchema(CASE_TABLE[n]),
      ]),
    ),
    required: SNAPSHOT_COLUMNS.map((n) => CASE_TABLE[n].wire),
    additionalProperties: false,
  };
}

/** The JSON Schema of an event (envelope and payload) of one type: docs/events.md shows them. */
export function eventSchema(type: OutboxEventType): object {
  const fields = OUTBOX_EVENT_TYPES[type].fields as Record<string, object>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: type,
    description: OUTBOX_EVENT_TYPES[type].description,
    type: 'object',
    properties: {
      id: { type: 'string', format: 'uuid', description: 'UUID v7; the de-duplication key' },
      type: { const: type },
      lab_id: { type: 'string' },
      case_id: { type: 'integer' },
      case_number: { type: ['string', 'null'] },
      seq: { type: 'integer', minimum: 1, description: 'per case, 1, 2, 3… without gaps' },
      occurred_at: { type: 'string', format: 'date-time' },
      payload: {
        type: 'object',
        properties: {
          case: snapshotSchema(),
          actor_user_id: { type: ['string', 'null'] },
          ...fields,
        },
        required: ['case', 'actor_user_id', ...Object.keys(fields)],
        additionalProperties: false,
      },
    },
    required: ['id', 'type', 'lab_id', 'case_id', 'case_number', 'seq', 'occurred_at', 'payload'],
    additionalProperties: false,
  };
}
