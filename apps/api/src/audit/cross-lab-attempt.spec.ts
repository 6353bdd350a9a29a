import type { AuditRecord } from './audit-event';
import { CROSS_LAB_ATTEMPT, crossLabRecordsOf } from './cross-lab-attempt';

const actor: AuditRecord = {
  occurred_at: new Date('2026-12-07T10:00:00Z'),
  lab_id: '2',
  actor_user_id: '7',
  actor_type: 'user',
  actor_role: 'lab_admin',
  source_ip: '127.0.0.1',
  user_agent: 'probe',
  request_id: 'req-1',
  event_type: 'rest',
  action: 'R',
  interaction: 'read',
  resource_type: 'case',
  resource_id: '5',
  patient_ref: null,
  subject_count: null,
  entity_ids: null,
  patient_refs: null,
  query: { status: 'pending' },
  changed_fields: null,
  outcome: 'denied',
  outcome_detail: 'CASE_NOT_FOUND',
  http_status: 404,
  http_method: 'GET',
  route: '/api/v1/cases/:id',
};

describe('crossLabRecordsOf', () => {
  it('one security row per other owning lab, with the caller and nothing of the case but its ids', () => {
    const rows = crossLabRecordsOf(actor, [
      { id: '5', lab_id: '1' },
      { id: '6', lab_id: '1' },
      { id: '8', lab_id: '3' },
      { id: '9', lab_id: '2' }, // the caller's own lab: a plain 404, nothing to report
      { id: '10', lab_id: null }, // no such case
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      lab_id: '1',
      event_type: 'security',
      resource_id: null,
      entity_ids: ['5', '6'],
      subject_count: 2,
      actor_user_id: '7',
      route: '/api/v1/cases/:id',
      http_status: 404,
      outcome: 'denied',
      outcome_detail: CROSS_LAB_ATTEMPT,
      // The caller's lab, and not the caller's query (its filters are the caller's business).
      query: { actor_lab_id: '2' },
    });
    expect(rows[1]).toMatchObject({ lab_id: '3', resource_id: '8', entity_ids: null });
  });

  it('none when no id belongs to another lab', () => {
    expect(crossLabRecordsOf(actor, [{ id: '9', lab_id: '2' }])).toEqual([]);
  });
});
