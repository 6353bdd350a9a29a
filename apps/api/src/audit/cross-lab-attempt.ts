import { type AuditRecord, SECURITY_EVENT } from './audit-event';

/** outcome_detail of the owning lab's row when a case id of that lab was tried from another lab. */
export const CROSS_LAB_ATTEMPT = 'CROSS_LAB_ATTEMPT';

/**
 * The owning labs' rows of a "case not found" answered to `actor` (the
 * caller's own row), from the owners case_owner_lab() found: one row per
 * other lab, with the caller's user, lab, route and outcome and nothing of
 * the case but its id. The caller's own lab and unknown ids give none.
 */
export function crossLabRecordsOf(
  actor: AuditRecord,
  found: ReadonlyArray<{ id: string; lab_id: string | null }>,
): AuditRecord[] {
  const byLab = new Map<string, string[]>();
  for (const { id, lab_id } of found) {
    if (lab_id === null || lab_id === actor.lab_id) continue;
    byLab.set(lab_id, [...(byLab.get(lab_id) ?? []), id]);
  }
  return [...byLab].map(([labId, owned]) => ({
    ...actor,
    lab_id: labId,
    event_type: SECURITY_EVENT,
    resource_type: 'case',
    resource_id: owned.length === 1 ? owned[0] : null,
    entity_ids: owned.length > 1 ? owned : null,
    subject_count: owned.length,
    patient_ref: null,
    patient_refs: null,
    changed_fields: null,
    query: { actor_lab_id: actor.lab_id },
    outcome: 'denied',
    outcome_detail: CROSS_LAB_ATTEMPT,
  }));
}
