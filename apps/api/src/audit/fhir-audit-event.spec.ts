import type { AuditEventView } from './audit-review.repository';
import { toFhirAuditEvent } from './fhir-audit-event';

const base: AuditEventView = {
  id: '0123456789abcdef0123456789abcdef',
  occurred_at: '2026-11-28T10:00:00.000000Z',
  recorded_at: '2026-11-28T10:00:00.001000Z',
  lab_id: '1',
  actor_user_id: 'u1',
  actor_type: 'user',
  actor_role: 'admin',
  source_ip: '10.0.0.1',
  user_agent: 'test',
  request_id: 'r1',
  event_type: 'rest',
  action: 'E',
  interaction: 'search',
  resource_type: 'Case',
  resource_id: null,
  patient_ref: null,
  subject_count: 2,
  entity_ids: ['3', '4'],
  patient_refs: ['ref-a', 'ref-b'],
  query: { status: 'pending' },
  changed_fields: null,
  outcome: 'success',
  outcome_detail: null,
  http_status: 200,
  http_method: 'GET',
  route: '/api/v1/cases',
  actor_lab_id: null,
  emergency_grant_id: null,
  chain: null,
};

const TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

describe('toFhirAuditEvent entities', () => {
  it('a search: each case as a domain resource, each patient by keyed reference, the query in base64', () => {
    expect(toFhirAuditEvent(base).entity).toEqual([
      {
        what: { reference: 'Case/3' },
        type: { system: TYPE, code: '2', display: 'System Object' },
        role: { system: ROLE, code: '4', display: 'Domain Resource' },
      },
      {
        what: { reference: 'Case/4' },
        type: { system: TYPE, code: '2', display: 'System Object' },
        role: { system: ROLE, code: '4', display: 'Domain Resource' },
      },
      {
        what: { identifier: { system: 'urn:lhcms:patient-ref', value: 'ref-a' } },
        type: { system: TYPE, code: '1', display: 'Person' },
        role: { system: ROLE, code: '1', display: 'Patient' },
      },
      {
        what: { identifier: { system: 'urn:lhcms:patient-ref', value: 'ref-b' } },
        type: { system: TYPE, code: '1', display: 'Person' },
        role: { system: ROLE, code: '1', display: 'Patient' },
      },
      {
        type: { system: TYPE, code: '2', display: 'System Object' },
        role: { system: ROLE, code: '24', display: 'Query' },
        query: Buffer.from('{"status":"pending"}').toString('base64'),
      },
    ]);
  });

  it('a read: the case and its patient once, even when listed twice', () => {
    const e = toFhirAuditEvent({
      ...base,
      action: 'R',
      interaction: 'read',
      resource_id: '9',
      patient_ref: 'ref-a',
      entity_ids: null,
      patient_refs: ['ref-a'],
      query: null,
    });
    expect(e.entity).toEqual([
      expect.objectContaining({ what: { reference: 'Case/9' } }),
      expect.objectContaining({
        what: { identifier: { system: 'urn:lhcms:patient-ref', value: 'ref-a' } },
      }),
    ]);
  });

  it('a cross-lab attempt: a Security Alert with the actor`s lab, the opaque id, no query entity', () => {
    const e = toFhirAuditEvent({
      ...base,
      event_type: 'security',
      action: 'R',
      interaction: 'read',
      resource_id: '9',
      entity_ids: null,
      patient_refs: null,
      query: { actor_lab_id: '2' },
      outcome: 'denied',
      http_status: 404,
      actor_lab_id: '2',
    });
    expect(e).toMatchObject({
      id: base.id,
      type: { code: '110113', display: 'Security Alert' },
      outcome: '4',
      extension: expect.arrayContaining([{ url: 'urn:lhcms:actor-lab', valueString: '2' }]),
    });
    expect(e.entity).toEqual([expect.objectContaining({ what: { reference: 'Case/9' } })]);
  });

  it('marks an access under an emergency grant: purpose of use break-glass and emergency treatment', () => {
    const grant = '0b9f6d1e-8c1a-4f57-9a43-7f0a5b1c2d3e';
    const e = toFhirAuditEvent({
      ...base,
      actor_role: 'emergency_read',
      query: { emergency_grant_id: grant },
      emergency_grant_id: grant,
    });
    expect(e.purposeOfEvent).toEqual([
      {
        coding: [
          expect.objectContaining({ code: 'BTG' }),
          expect.objectContaining({ code: 'ETREAT' }),
        ],
      },
    ]);
    expect(e.extension).toEqual(
      expect.arrayContaining([{ url: 'urn:lhcms:emergency-grant', valueString: grant }]),
    );
    expect(toFhirAuditEvent(base)).not.toHaveProperty('purposeOfEvent');
  });
});
