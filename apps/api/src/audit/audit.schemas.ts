import { int4 } from '../case-model';
import {
  AUDIT_ACTIONS,
  AUDIT_EVENT_TYPES,
  AUDIT_INTERACTIONS,
  AUDIT_OUTCOMES,
} from './audit-event';

/** OpenAPI schemas of the audit review API (merged into components.schemas). */
const str = (extra: Record<string, unknown> = {}) => ({ type: 'string', ...extra });
const nullable = (s: Record<string, unknown>) => ({ ...s, nullable: true });

export const AUDIT_SCHEMAS: Record<string, object> = {
  AuditEvent: {
    type: 'object',
    description:
      'One audit record. Never holds PHI: patients appear as keyed references (`patient_ref`), changed PHI fields by name only.',
    required: ['id', 'occurred_at', 'actor_type', 'event_type', 'action', 'interaction', 'outcome'],
    properties: {
      id: str({
        description:
          "Opaque, stable id of the event (32 hex digits). Not ordered and not a count: nothing in a lab's view counts other labs' events.",
      }),
      occurred_at: str({ format: 'date-time' }),
      recorded_at: str({ format: 'date-time' }),
      lab_id: nullable(str()),
      actor_user_id: nullable(str()),
      actor_type: str({ enum: ['user', 'service', 'system', 'anonymous'] }),
      actor_role: nullable(str()),
      source_ip: nullable(str()),
      user_agent: nullable(str()),
      request_id: nullable(str()),
      event_type: str({
        enum: AUDIT_EVENT_TYPES,
        description:
          '`security`: an attempt on one of your cases from another lab (answered as if the case did not exist).',
      }),
      action: str({ enum: AUDIT_ACTIONS }),
      interaction: str({ enum: AUDIT_INTERACTIONS }),
      resource_type: nullable(str()),
      resource_id: nullable(str()),
      patient_ref: nullable(str()),
      subject_count: nullable({ type: 'integer' }),
      entity_ids: nullable({ type: 'array', items: str() }),
      patient_refs: nullable({ type: 'array', items: str() }),
      query: nullable({ type: 'object', additionalProperties: true }),
      changed_fields: nullable({
        type: 'array',
        items: {
          type: 'object',
          required: ['field'],
          properties: { field: str(), old: {}, new: {} },
        },
      }),
      outcome: str({ enum: AUDIT_OUTCOMES }),
      outcome_detail: nullable(str()),
      http_status: nullable({ type: 'integer' }),
      http_method: nullable(str()),
      route: nullable(str()),
      actor_lab_id: nullable(
        str({ description: '`security` events: the lab the actor acted from; otherwise null.' }),
      ),
      emergency_grant_id: nullable(
        str({
          description:
            'The emergency grant (break-glass) the access was made under (`actor_role` `emergency_read` / `emergency_write`); null for ordinary access.',
        }),
      ),
      chain: nullable({
        type: 'object',
        description:
          'The hash-chain entry of the event (an operator finds it by row_hash); null until sealed.',
        properties: { row_hash: str() },
      }),
    },
  },
  AuditEventPage: {
    type: 'object',
    required: ['events', 'next_cursor', 'limit'],
    properties: {
      events: { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } },
      next_cursor: nullable(str({ description: 'Pass as `cursor` for the next page.' })),
      limit: { type: 'integer' },
      patient_ref: str({ description: 'Patient report only: the keyed reference of the patient.' }),
      case_id: str({ description: 'Access log only.' }),
    },
  },
  PatientAccessReportRequest: {
    type: 'object',
    required: ['patient_id'],
    description:
      'The patient identifier goes in the body, never in a URL; the server turns it into the keyed patient_ref.',
    properties: {
      patient_id: str({ minLength: 1, maxLength: 100 }),
      from: str({ format: 'date-time' }),
      to: str({ format: 'date-time' }),
      limit: int4({ minimum: 1, maximum: 500 }),
      cursor: str(),
    },
  },
  AuditVerifyReport: {
    type: 'object',
    description:
      "The shared chain's verification as a lab sees it: nothing in it counts other labs' events.",
    required: ['status', 'chain_id', 'scope', 'lab_id', 'entries_checked'],
    properties: {
      status: str({ enum: ['intact', 'tampered'], description: 'Of the whole shared chain.' }),
      chain_id: str(),
      scope: str({ enum: ['lab'] }),
      lab_id: str(),
      entries_checked: {
        type: 'integer',
        description: "Your lab's events in the verified part of the chain.",
      },
      problem: {
        type: 'object',
        properties: {
          kind: str({ enum: ['altered', 'deleted', 'inserted', 'reordered', 'checkpoint'] }),
          detail: str(),
        },
      },
    },
  },
};
