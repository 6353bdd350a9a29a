import { caseChangedFields } from './changed-fields';

describe('caseChangedFields', () => {
  const MARKER = 'PHI-MARKER-Jane-Doe';

  it('records values of non-PHI fields only, names of everything else', () => {
    const fields = caseChangedFields(
      {
        status: 'in_progress',
        patient_info: { patient_id: MARKER },
        special_instructions: MARKER,
        case_name: MARKER,
        fixed_prosthetic_details: { notes: MARKER },
        priority: 'high',
      },
      { status: 'pending', priority: 'medium', case_name: 'old' },
    );
    expect(fields).toEqual([
      { field: 'case_name' },
      { field: 'fixed_prosthetic' },
      { field: 'patient_info' },
      { field: 'priority', old: 'medium', new: 'high' },
      { field: 'special_instructions' },
      { field: 'status', old: 'pending', new: 'in_progress' },
    ]);
    expect(JSON.stringify(fields)).not.toContain(MARKER);
  });

  it('a field it does not know is recorded by name only (default deny)', () => {
    expect(caseChangedFields({ brand_new_field: MARKER }, {})).toEqual([
      { field: 'brand_new_field' },
    ]);
  });

  it('on create, lists the fields set, with new values for non-PHI ones', () => {
    expect(
      caseChangedFields({
        doctor_id: 'd1',
        status: 'pending',
        description: MARKER,
        due_date: null,
        created_by: 'u1',
      }),
    ).toEqual([
      { field: 'description' },
      { field: 'doctor_id', new: 'd1' },
      { field: 'status', new: 'pending' },
    ]);
  });
});
