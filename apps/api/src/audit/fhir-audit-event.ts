import { SECURITY_EVENT } from './audit-event';
import type { AuditEventView } from './audit-review.repository';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL: Record<string, string> = {
  read: 'read',
  search: 'search-type',
  create: 'create',
  update: 'update',
  status_change: 'update',
  delete: 'delete',
};
const RESOURCE: Record<string, string> = { case: 'Case', doctor: 'Practitioner' };

const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
type Coding = { code: string; display: string };
const SYSTEM_OBJECT: Coding = { code: '2', display: 'System Object' };
const PERSON: Coding = { code: '1', display: 'Person' };
const DOMAIN_RESOURCE: Coding = { code: '4', display: 'Domain Resource' };
const PATIENT: Coding = { code: '1', display: 'Patient' };
const QUERY: Coding = { code: '24', display: 'Query' };

/** An AuditEvent.entity: what (when given), its type and its role. */
function entity(
  type: Coding,
  role: Coding,
  what?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...(what ? { what } : {}),
    type: { system: ENTITY_TYPE, ...type },
    role: { system: OBJECT_ROLE, ...role },
  };
}

const PURPOSE_OF_USE = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

/**
 * AuditEvent.purposeOfEvent of an access made under an emergency grant:
 * v3 PurposeOfUse `BTG` (break the glass) — the access overrode the usual
 * access control — and `ETREAT` (emergency treatment) as its purpose. Absent
 * for ordinary access (IHE BALP leaves it optional).
 */
export const BREAK_GLASS_PURPOSE = [
  {
    coding: [
      { system: PURPOSE_OF_USE, code: 'BTG', display: 'break the glass' },
      { system: PURPOSE_OF_USE, code: 'ETREAT', display: 'Emergency Treatment' },
    ],
  },
];

/** FHIR R4 AuditEvent.outcome: 0 success, 4 minor failure (refused, 4xx), 8 serious failure (5xx). */
function outcomeCode(e: AuditEventView): '0' | '4' | '8' {
  if (e.outcome === 'success') return '0';
  return (e.http_status ?? 500) >= 500 ? '8' : '4';
}

/**
 * One audit row as a FHIR R4 `AuditEvent`, in the style of IHE Basic Audit
 * Log Patterns (BALP) for RESTful activity: the user as the requesting agent
 * with the client's network address, LHCMS as the observer, the resource
 * touched, the patient (by its keyed reference, never an identifier or name)
 * as a Patient-role entity, and the query for searches.
 */
export function toFhirAuditEvent(e: AuditEventView): Record<string, unknown> {
  const rest = RESTFUL[e.interaction];
  const entities: Array<Record<string, unknown>> = [];
  const resourceName = e.resource_type ? (RESOURCE[e.resource_type] ?? e.resource_type) : undefined;
  if (e.resource_id && resourceName)
    entities.push(
      entity(SYSTEM_OBJECT, DOMAIN_RESOURCE, { reference: `${resourceName}/${e.resource_id}` }),
    );
  for (const id of e.entity_ids ?? [])
    entities.push(
      entity(SYSTEM_OBJECT, DOMAIN_RESOURCE, { reference: `${resourceName ?? 'Resource'}/${id}` }),
    );
  const patients = [
    ...new Set([e.patient_ref, ...(e.patient_refs ?? [])].filter((p): p is string => !!p)),
  ];
  for (const ref of patients)
    entities.push(
      entity(PERSON, PATIENT, { identifier: { system: 'urn:lhcms:patient-ref', value: ref } }),
    );
  if (e.query && e.event_type !== SECURITY_EVENT)
    entities.push({
      ...entity(SYSTEM_OBJECT, QUERY),
      query: Buffer.from(JSON.stringify(e.query), 'utf8').toString('base64'),
    });
  const agents: Array<Record<string, unknown>> = [
    {
      type: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
            code: 'IRCP',
            display: 'information recipient',
          },
        ],
      },
      who: e.actor_user_id
        ? { identifier: { system: 'urn:lhcms:ums-user', value: e.actor_user_id } }
        : { display: e.actor_type },
      ...(e.actor_role
        ? { role: [{ coding: [{ system: 'urn:lhcms:lab-role', code: e.actor_role }] }] }
        : {}),
      requestor: true,
      ...(e.source_ip ? { network: { address: e.source_ip, type: '2' } } : {}),
    },
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      who: { display: 'LHCMS' },
      requestor: false,
    },
  ];
  return {
    resourceType: 'AuditEvent',
    id: e.id,
    type:
      e.event_type === 'rest'
        ? {
            system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
            code: 'rest',
            display: 'RESTful Operation',
          }
        : e.event_type === SECURITY_EVENT
          ? { system: DCM, code: '110113', display: 'Security Alert' }
          : { system: DCM, code: '110100', display: 'Application Activity' },
    subtype: [
      ...(rest ? [{ system: 'http://hl7.org/fhir/restful-interaction', code: rest }] : []),
      ...(e.interaction === 'export' ? [{ system: DCM, code: '110106', display: 'Export' }] : []),
      { system: 'urn:lhcms:audit-interaction', code: e.interaction },
    ],
    action: e.action,
    ...(e.emergency_grant_id ? { purposeOfEvent: BREAK_GLASS_PURPOSE } : {}),
    recorded: e.occurred_at,
    outcome: outcomeCode(e),
    outcomeDesc: e.http_status
      ? `HTTP ${e.http_status}${e.outcome_detail ? ` ${e.outcome_detail}` : ''}`
      : (e.outcome_detail ?? e.outcome),
    agent: agents,
    source: {
      ...(e.lab_id ? { site: `lab/${e.lab_id}` } : {}),
      observer: { display: 'LHCMS' },
      type: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/security-source-type',
          code: '4',
          display: 'Application Server',
        },
      ],
    },
    ...(entities.length ? { entity: entities } : {}),
    extension: [
      ...(e.request_id ? [{ url: 'urn:lhcms:request-id', valueString: e.request_id }] : []),
      ...(e.actor_lab_id ? [{ url: 'urn:lhcms:actor-lab', valueString: e.actor_lab_id }] : []),
      ...(e.emergency_grant_id
        ? [{ url: 'urn:lhcms:emergency-grant', valueString: e.emergency_grant_id }]
        : []),
      ...(e.changed_fields?.length
        ? [{ url: 'urn:lhcms:changed-fields', valueString: JSON.stringify(e.changed_fields) }]
        : []),
    ],
  };
}
