import { SCHEMAS } from '../../apps/api/src/case-model/case.schemas';
import { registerSchemas, validator } from '../../apps/api/src/common/validation/schema.pipe';

registerSchemas(SCHEMAS);
import { caseInput, rng, SEED_CREATED_BY, seedRow } from './seed-data';

describe('bench seed data', () => {
  it('create bodies are valid CaseInput for the API (the same validator)', () => {
    const r = rng(1);
    for (let i = 0; i < 500; i++)
      expect(validator().validate('CaseInput', caseInput(r))).toBeUndefined();
  });

  it('seed rows carry the prescription that matches the case type, and realistic fields', () => {
    const now = new Date('2026-11-28T00:00:00Z');
    const rows = Array.from({ length: 400 }, (_, i) => seedRow('9001', i, 400, now));
    const kinds = new Set(rows.map((r) => r.case_type));
    expect(kinds).toEqual(
      new Set(['fixed_prosthetic', 'denture', 'night_guard', 'implant', 'orthodontic', 'other']),
    );
    for (const r of rows) {
      expect(r.lab_id).toBe('9001');
      expect(r.created_by).toBe(SEED_CREATED_BY);
      expect(r.patient_info).toEqual(
        expect.objectContaining({ patient_id: expect.stringMatching(/^PT-\d{7}$/) }),
      );
      expect(r.due_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      if (r.case_type === 'fixed_prosthetic') expect(r.fixed_prosthetic_details).not.toBeNull();
      if (r.case_type === 'denture') expect(r.denture_details).not.toBeNull();
      if (r.case_type === 'night_guard') expect(r.night_guard_details).not.toBeNull();
      if (r.case_type === 'implant') expect(r.implant_details).not.toBeNull();
      expect(validator().validate('PatientInfo', r.patient_info)).toBeUndefined();
    }
    // Old cases are mostly completed, the newest mostly open.
    const old = rows.slice(0, 200).filter((r) => r.status === 'completed').length;
    const recent = rows
      .slice(-10)
      .filter((r) => ['pending', 'in_progress', 'on_hold'].includes(r.status)).length;
    expect(old).toBeGreaterThan(150);
    expect(recent).toBeGreaterThan(5);
  });

  it('is deterministic, strictly ordered by creation, with microseconds', () => {
    const now = new Date('2026-11-28T00:00:00Z');
    expect(seedRow('9001', 5, 100, now)).toEqual(seedRow('9001', 5, 100, now));
    const ts = Array.from({ length: 100 }, (_, i) => seedRow('9001', i, 100, now).created_at);
    for (const t of ts) expect(t).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect([...ts].sort()).toEqual(ts);
    expect(new Set(ts).size).toBe(ts.length);
  });
});
