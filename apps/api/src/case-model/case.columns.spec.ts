import { PHI_FIELDS } from '@lhcms/logging';
import { caseChangedFields } from '../audit/changed-fields';
import { SEED_COLUMNS } from '../../../../ops/bench/seed-db';
import { PHI_COLUMNS } from '../encryption/phi-cipher';
import {
  CASE_COLUMN_NAMES,
  CASE_TABLE,
  type CaseRow,
  type CaseValues,
  DETAIL_COLUMN,
  ENCRYPTED_COLUMNS,
  SELECTED_COLUMNS,
  TRAIL_OMITTED_COLUMNS,
  TRAIL_VALUE_COLUMNS,
  WRITABLE_COLUMNS,
  wireName,
} from './case.columns';
import { CASE_COLUMNS } from '../cases/cases.repository';
import { toCaseResponse } from '../cases/dto/case.response';
import { SCHEMAS } from './case.schemas';
import { ON_TIME } from '../schedule';

// Compile-time checks: the derived types have exactly these keys.
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rowKeys: Equals<
  keyof CaseRow,
  | 'id'
  | 'lab_id'
  | 'doctor_id'
  | 'product_id'
  | 'status'
  | 'case_name'
  | 'description'
  | 'priority'
  | 'assigned_to'
  | 'case_type'
  | 'due_date'
  | 'rush_order'
  | 'special_instructions'
  | 'patient_info'
  | 'fixed_prosthetic_details'
  | 'denture_details'
  | 'night_guard_details'
  | 'implant_details'
  | 'created_at'
  | 'updated_at'
  | 'case_number'
  | 'stage'
  | 'held_from_status'
  | 'version'
  | 'ship_by'
  | 'due_date_feasible'
  | 'remake_of'
  | 'remake_reason'
  | 'remake_responsibility'
  | 'remake_chargeable'
> = true;
const valueKeys: Equals<
  keyof CaseValues,
  | 'doctor_id'
  | 'product_id'
  | 'case_type'
  | 'status'
  | 'case_name'
  | 'description'
  | 'priority'
  | 'created_by'
  | 'assigned_to'
  | 'due_date'
  | 'rush_order'
  | 'special_instructions'
  | 'patient_info'
  | 'fixed_prosthetic_details'
  | 'denture_details'
  | 'night_guard_details'
  | 'implant_details'
  | 'patient_id_bidx'
  | 'case_number'
  | 'stage'
  | 'ship_by'
  | 'due_date_feasible'
  | 'remake_of'
  | 'remake_reason'
  | 'remake_responsibility'
  | 'remake_chargeable'
> = true;
const nullable: Equals<CaseRow['case_name'], string | null> = true;
const notNull: Equals<CaseRow['version'], number> = true;
const typed: Equals<
  CaseRow['status'],
  'pending' | 'in_progress' | 'completed' | 'cancelled' | 'on_hold'
> = true;

/**
 * The lists the catalogue replaced, as they were before it (main at bf8af2c):
 * the derived lists must say exactly the same, so behaviour is unchanged.
 */
// What the code held before the catalogue replaced its copies, plus the columns added since
// (the schedule's ship_by and due_date_feasible, and the remake columns, issue 16).
const BEFORE = {
  selectList: `id, lab_id, doctor_id, product_id, status, case_name, description, priority,
    assigned_to, case_type, due_date::text AS due_date, rush_order, special_instructions, patient_info,
    fixed_prosthetic_details, denture_details, night_guard_details, implant_details,
    ISO(created_at) AS created_at, ISO(updated_at) AS updated_at,
    case_number, stage, held_from_status, version,
    ship_by::text AS ship_by, due_date_feasible,
    remake_of, remake_reason, remake_responsibility, remake_chargeable`,
  writable: [
    'doctor_id',
    'product_id',
    'case_type',
    'status',
    'case_name',
    'description',
    'priority',
    'created_by',
    'assigned_to',
    'due_date',
    'rush_order',
    'special_instructions',
    'patient_info',
    'fixed_prosthetic_details',
    'denture_details',
    'night_guard_details',
    'implant_details',
    'patient_id_bidx',
    'case_number',
    'stage',
    'ship_by',
    'due_date_feasible',
    'remake_of',
    'remake_reason',
    'remake_responsibility',
    'remake_chargeable',
  ],
  phiColumns: [
    { column: 'patient_info', json: true },
    { column: 'case_name', json: false },
    { column: 'description', json: false },
    { column: 'special_instructions', json: false },
    { column: 'fixed_prosthetic_details', json: true },
    { column: 'denture_details', json: true },
    { column: 'night_guard_details', json: true },
    { column: 'implant_details', json: true },
  ],
  auditValues: [
    'status',
    'priority',
    'due_date',
    'rush_order',
    'assigned_to',
    'case_type',
    'doctor_id',
    'product_id',
    'case_number',
    'stage',
    'ship_by',
    'remake_of',
    'remake_reason',
    'remake_responsibility',
    'remake_chargeable',
  ],
  auditNotRecorded: [
    'created_by',
    'updated_at',
    'created_at',
    'deleted_at',
    'lab_id',
    'patient_id_bidx',
    'due_date_feasible',
  ],
  timelineValues: [
    'priority',
    'status',
    'assigned_to',
    'due_date',
    'rush_order',
    'case_type',
    'stage',
    'ship_by',
  ],
  wireNames: {
    fixed_prosthetic_details: 'fixed_prosthetic',
    denture_details: 'denture',
    night_guard_details: 'night_guard',
    implant_details: 'implant',
  },
  seedColumns: [
    'lab_id',
    'doctor_id',
    'product_id',
    'status',
    'case_name',
    'description',
    'priority',
    'created_by',
    'assigned_to',
    'case_type',
    'due_date',
    'rush_order',
    'special_instructions',
    'patient_info',
    'fixed_prosthetic_details',
    'denture_details',
    'night_guard_details',
    'implant_details',
    'created_at',
    'updated_at',
    'patient_id_bidx',
    'ship_by',
    'due_date_feasible',
  ],
};

const sorted = (xs: Iterable<string>) => [...xs].sort();
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('the case column catalogue', () => {
  it('types derive from it (compile-time checks above)', () => {
    expect([rowKeys, valueKeys, nullable, notNull, typed]).toEqual([true, true, true, true, true]);
  });

  it('the select list is the one the repository had', () => {
    const iso = (c: string) => `to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    const expected = BEFORE.selectList.replace(/ISO\((\w+)\)/g, (_, c: string) => iso(c));
    expect(squash(CASE_COLUMNS)).toBe(squash(expected));
  });

  it('the writable set, the encryption list and the wire names are the ones they replace', () => {
    expect(sorted(WRITABLE_COLUMNS)).toEqual(sorted(BEFORE.writable));
    // Order is irrelevant to PhiCipher and key rotation (each value is bound to its column).
    const byName = (xs: ReadonlyArray<{ column: string }>) =>
      [...xs].sort((a, b) => a.column.localeCompare(b.column));
    expect(byName(ENCRYPTED_COLUMNS)).toEqual(byName(BEFORE.phiColumns));
    expect(PHI_COLUMNS).toBe(ENCRYPTED_COLUMNS);
    for (const [column, wire] of Object.entries(BEFORE.wireNames))
      expect(wireName(column)).toBe(wire);
    expect(wireName('not_a_column')).toBe('not_a_column');
    expect(DETAIL_COLUMN).toEqual(
      Object.fromEntries(Object.entries(BEFORE.wireNames).map(([column, kind]) => [kind, column])),
    );
  });

  it('the audit value set is the one it replaces; what is omitted is what was, plus columns no write sets', () => {
    expect(sorted(TRAIL_VALUE_COLUMNS)).toEqual(sorted(BEFORE.auditValues));
    const extra = [...TRAIL_OMITTED_COLUMNS].filter((c) => !BEFORE.auditNotRecorded.includes(c));
    expect(BEFORE.auditNotRecorded.every((c) => TRAIL_OMITTED_COLUMNS.has(c))).toBe(true);
    // These never appear in a write's values, so omitting them changes nothing.
    for (const c of extra) expect(WRITABLE_COLUMNS.has(c)).toBe(false);
    expect(sorted(extra)).toEqual(['held_from_status', 'id', 'version']);
  });

  it('the timeline shows the values it showed: the added ones cannot change through an update', () => {
    const added = [...TRAIL_VALUE_COLUMNS].filter((c) => !BEFORE.timelineValues.includes(c));
    // The remake columns: set once, by the remake use case (no update schema names them).
    expect(sorted(added)).toEqual([
      'case_number',
      'doctor_id',
      'product_id',
      'remake_chargeable',
      'remake_of',
      'remake_reason',
      'remake_responsibility',
    ]);
    const updatable = Object.keys(
      (SCHEMAS.CaseUpdate as { properties: Record<string, unknown> }).properties,
    );
    for (const c of added) expect(updatable).not.toContain(c);
    for (const c of BEFORE.timelineValues) expect(TRAIL_VALUE_COLUMNS.has(c)).toBe(true);
  });

  it('no PHI column (encrypted or blind index) can be recorded by value', () => {
    const phi = CASE_COLUMN_NAMES.filter((c) => CASE_TABLE[c].phi !== 'plain');
    expect(sorted(phi)).toEqual(
      sorted([...BEFORE.phiColumns.map((c) => c.column), 'patient_id_bidx']),
    );
    for (const c of phi) expect(TRAIL_VALUE_COLUMNS.has(c)).toBe(false);
  });

  it('the log redaction list covers every encrypted column: its column name, its wire name, and dental_details', () => {
    const encrypted = ENCRYPTED_COLUMNS.flatMap(({ column }) => [column, wireName(column)]);
    const wanted = [...new Set([...encrypted, 'dental_details'])];
    expect(wanted).toEqual(expect.arrayContaining(['fixed_prosthetic', 'implant_details']));
    expect(wanted.filter((f) => !(PHI_FIELDS as readonly string[]).includes(f))).toEqual([]);
  });

  it('an audited write of every column carries no PHI value, only plain values it allows', () => {
    const marker = (c: string) => `PHI-MARKER-${c}`;
    const changes = Object.fromEntries(CASE_COLUMN_NAMES.map((c) => [c, marker(c)]));
    const before = Object.fromEntries(CASE_COLUMN_NAMES.map((c) => [c, `old-${marker(c)}`]));
    for (const fields of [caseChangedFields(changes), caseChangedFields(changes, before)]) {
      const text = JSON.stringify(fields);
      for (const c of CASE_COLUMN_NAMES) {
        if (!TRAIL_VALUE_COLUMNS.has(c)) expect(text).not.toContain(marker(c));
      }
      const withValues = fields.filter((f) => 'new' in f).map((f) => f.field);
      expect(sorted(withValues)).toEqual(sorted(BEFORE.auditValues));
    }
  });

  it('the bench seed writes the columns it wrote, JSON PHI columns declared text, not jsonb', () => {
    expect(SEED_COLUMNS.map(([c]) => c)).toEqual(BEFORE.seedColumns);
    // jsonb_to_recordset(… patient_info jsonb) stored ciphertext as a quoted JSON string
    // ("enc:v1:…"), which PhiCipher reads as plaintext: the seed must declare text.
    const types = new Map(SEED_COLUMNS);
    for (const c of ENCRYPTED_COLUMNS)
      expect([c.column, types.get(c.column)]).toEqual([c.column, 'text']);
  });

  it('the v1 Case has every selected column under its wire name, and the OpenAPI schema lists them', () => {
    const row = Object.fromEntries(SELECTED_COLUMNS.map((c) => [c, null])) as unknown as CaseRow;
    const keys = Object.keys(toCaseResponse({ ...row, case_type: 'denture' }, ON_TIME));
    // Plus what is derived on read: the matching prescription, the schedule's flags, the remakes.
    const expected = [
      ...SELECTED_COLUMNS.map((c) => wireName(c)),
      'dental_details',
      'late',
      'at_risk',
      'days_late',
      'remakes',
    ];
    expect(sorted(keys)).toEqual(sorted(expected));
    const schema = SCHEMAS.Case as { properties: Record<string, unknown> };
    expect(sorted(Object.keys(schema.properties))).toEqual(sorted(expected));
  });

  it('every column has a wire name only if it is selected, and a selected column is never a blind index', () => {
    for (const c of CASE_COLUMN_NAMES) {
      const spec = CASE_TABLE[c];
      expect(SELECTED_COLUMNS.includes(c as never)).toBe(spec.wire !== null);
      if (spec.phi === 'blind-index') expect(spec.wire).toBeNull();
    }
  });
});
