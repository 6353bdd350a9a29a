import { SCHEMAS } from '../../case-model/case.schemas';
import { isIsoDate, isIsoDateTime, JsonSchemaValidator } from './json-schema.validator';

const v = new JsonSchemaValidator(SCHEMAS);

describe('JsonSchemaValidator: unknown fields of a closed schema', () => {
  const closed = new JsonSchemaValidator({
    Closed: {
      type: 'object',
      additionalProperties: false,
      properties: { a: { type: 'string' }, inner: { type: 'object', additionalProperties: false } },
    },
  });

  it('names a field-like unknown key, and never repeats a strange one', () => {
    expect(closed.validate('Closed', { a: 'x', timezone: 'UTC' })).toEqual({
      timezone: 'is not a known field',
    });
    expect(closed.validate('Closed', { inner: { extra_1: 1 } })).toEqual({
      'inner.extra_1': 'is not a known field',
    });
    const strange = 'Jane Doe <jane@example.com>';
    const errors = closed.validate('Closed', { [strange]: 1 });
    expect(errors).toEqual({ '': 'is not a known field' });
    expect(JSON.stringify(errors)).not.toContain('Jane');
  });
});

describe('JsonSchemaValidator (the original wire rules)', () => {
  const base = { doctor_id: 'd1', product_id: 'p1', case_type: 'fixed_prosthetic' };

  it('accepts a fixed-prosthetic case whose shade has no shade_id', () => {
    expect(
      v.validate('CaseInput', {
        ...base,
        fixed_prosthetic: {
          type: 'crown',
          material: 'zirconia',
          tooth_numbers: [8],
          shade: { shade_system: 'vita_classical', shade_value: 'A2' },
        },
      }),
    ).toBeUndefined();
  });

  it('reports every failing path at once, dotted, with array indexes', () => {
    const errors = v.validate('CaseInput', {
      product_id: 5,
      case_type: 'bogus',
      fixed_prosthetic: {
        type: 'crown',
        material: 'zirconia',
        tooth_numbers: [8, '9'],
        shade: { shade_value: 'A2' },
      },
    });
    expect(errors).toEqual({
      doctor_id: "'doctor_id' is a required property",
      product_id: "is not of type 'string'",
      case_type:
        "is not one of ['fixed_prosthetic', 'denture', 'night_guard', 'implant', 'orthodontic', 'other']",
      'fixed_prosthetic.tooth_numbers.1': "is not of type 'integer'",
      'fixed_prosthetic.shade.shade_system': "'shade_system' is a required property",
    });
  });

  it('rejects a non-object root under the empty key', () => {
    expect(v.validate('CaseInput', [1, 2])).toEqual({ '': "is not of type 'object'" });
  });

  it('rejects null where a value is required, and bad dates', () => {
    expect(v.validate('CaseInput', { ...base, due_date: null })).toEqual({
      due_date: "is not of type 'string'",
    });
    expect(v.validate('CaseInput', { ...base, due_date: '11/19/2025' })).toEqual({
      due_date: "is not a 'date'",
    });
    expect(v.validate('CaseInput', { ...base, due_date: '2025-02-30' })).toEqual({
      due_date: "is not a 'date'",
    });
  });

  it('validates the status update, the patient age type and implant fields', () => {
    expect(v.validate('StatusUpdate', { status: 'shipped' })).toEqual({
      status: "is not one of ['pending', 'in_progress', 'completed', 'cancelled', 'on_hold']",
    });
    expect(v.validate('StatusUpdate', {})).toEqual({ status: "'status' is a required property" });
    expect(v.validate('CaseInput', { ...base, patient_info: { age: '35' } })).toEqual({
      'patient_info.age': "is not of type 'integer'",
    });
    expect(
      Object.keys(
        v.validate('CaseInput', { ...base, implant: { implant_system: 'straumann' } }) ?? {},
      ).sort(),
    ).toEqual(['implant.implant_diameter', 'implant.implant_length', 'implant.tooth_number']);
  });

  it('knows which update fields may be cleared with null', () => {
    const keys = v.nullableKeys('CaseUpdate');
    expect(keys.has('case_name')).toBe(true);
    expect(keys.has('patient_info')).toBe(true);
    expect(keys.has('priority')).toBe(false);
    expect(keys.has('status')).toBe(false);
  });
});

describe('helpers', () => {
  it('isIsoDate accepts real calendar dates only', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2023-02-29')).toBe(false);
    expect(isIsoDate('2024-2-9')).toBe(false);
  });

  it('isIsoDateTime accepts real instants only (Date.parse rolls 2026-02-30 over; PostgreSQL refuses it)', () => {
    for (const ok of ['2026-02-28', '2026-02-28T23:59:59.999999Z', '2026-02-28T10:00+02:00'])
      expect([ok, isIsoDateTime(ok)]).toEqual([ok, true]);
    for (const bad of [
      '2026-02-30',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:61Z',
      '2026-01-01T10:00:00',
      '1',
      'Tue, 31 Feb 2026',
    ])
      expect([bad, isIsoDateTime(bad)]).toEqual([bad, false]);
  });
});
