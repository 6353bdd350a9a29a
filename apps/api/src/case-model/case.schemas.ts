/**
 * The v1 wire contract as JSON Schema (OpenAPI 3.0 dialect), one definition
 * per model of the original Flask-RESTX API. The same objects validate
 * request bodies (Ajv, common/validation) and become the OpenAPI components,
 * so the document cannot drift from what the server accepts
 * (docs/adr/0002-json-schema-validation.md).
 *
 * Field rules and enums: the original Flask LHCMS's, as docs/api.md describes them.
 */
export const CASE_STATUSES = [
  'pending',
  'in_progress',
  'completed',
  'cancelled',
  'on_hold',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];
export const PRIORITIES = ['low', 'medium', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const CASE_TYPES = [
  'fixed_prosthetic',
  'denture',
  'night_guard',
  'implant',
  'orthodontic',
  'other',
] as const;
export type CaseType = (typeof CASE_TYPES)[number];
export const DETAIL_KINDS = ['fixed_prosthetic', 'denture', 'night_guard', 'implant'] as const;
export type DetailKind = (typeof DETAIL_KINDS)[number];
/** Who a remake is down to (issue 16): the lab's work, the doctor's input, or not known. */
export const REMAKE_RESPONSIBILITIES = ['lab', 'doctor', 'unknown'] as const;
export type RemakeResponsibility = (typeof REMAKE_RESPONSIBILITIES)[number];

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const oneOf = (values: readonly string[], extra: Schema = {}): Schema => ({
  type: 'string',
  enum: [...values],
  ...extra,
});

/**
 * PostgreSQL's `integer` (int4) range. Every integer a request body carries is
 * bounded by it (ids are int4 columns; the rest at least fits one), so a
 * larger number is a 400 naming the field, never a database error.
 */
export const INT4_MAX = 2_147_483_647;
export const INT4_MIN = -2_147_483_648;
/** An integer within int4; `extra` may narrow the range further. */
export const int4 = (extra: Schema = {}): Schema => ({
  type: 'integer',
  minimum: INT4_MIN,
  maximum: INT4_MAX,
  ...extra,
});

/** Accepts null as well (OpenAPI 3.0 form; a `$ref` is wrapped in allOf). PUT: null clears the field. */
function nullable(s: Schema): Schema {
  return s.$ref ? { allOf: [s], nullable: true } : { ...s, nullable: true };
}

const Shade: Schema = {
  type: 'object',
  description:
    'Shade of a fixed prosthetic or denture. `shade_id` is optional in v1 (the original required it; no client sends it).',
  required: ['shade_system', 'shade_value'],
  properties: {
    shade_id: str({ maxLength: 100 }),
    shade_system: oneOf([
      'vita_classical',
      'vita_3d_master',
      'ivoclar_chromascop',
      'shofu_vintage',
      'dentsply_trubyte',
      'custom',
    ]),
    shade_value: str({ maxLength: 50, example: 'A2' }),
    shade_description: str({ maxLength: 500 }),
    translucency: oneOf(['high_translucent', 'low_translucent', 'opaque']),
    notes: str({ maxLength: 2000 }),
  },
};

const FixedProsthetic: Schema = {
  type: 'object',
  required: ['type', 'material', 'tooth_numbers'],
  properties: {
    type: oneOf(['crown', 'bridge', 'inlay', 'onlay', 'veneer', 'implant_crown']),
    material: oneOf([
      'porcelain_fused_metal',
      'all_ceramic',
      'zirconia',
      'emax',
      'gold',
      'composite',
      'pfm_high_noble',
      'pfm_noble',
      'pfm_base',
    ]),
    tooth_numbers: { type: 'array', items: int4(), maxItems: 64, example: [8, 9] },
    preparation_type: oneOf(['full_coverage', 'partial_coverage', 'minimal_prep', 'no_prep']),
    margin_type: oneOf(['shoulder', 'chamfer', 'knife_edge', 'feather_edge']),
    shade: ref('Shade'),
    occlusion_type: oneOf(['centric_occlusion', 'working_side', 'balancing_side', 'protrusive']),
  },
};

const Denture: Schema = {
  type: 'object',
  required: ['type', 'material'],
  properties: {
    type: oneOf([
      'complete_upper',
      'complete_lower',
      'complete_full',
      'partial_upper',
      'partial_lower',
      'immediate',
      'conventional',
      'implant_supported',
    ]),
    material: oneOf(['acrylic_resin', 'flexible_nylon', 'metal_framework', 'titanium']),
    tooth_material: oneOf(['acrylic', 'porcelain', 'composite']),
    shade: ref('Shade'),
    clasp_design: oneOf(['cast_clasps', 'wrought_wire', 'precision_attachments', 'none']),
    retention_type: oneOf([
      'conventional_suction',
      'implant_retained',
      'implant_supported',
      'adhesive',
    ]),
  },
};

const NightGuard: Schema = {
  type: 'object',
  required: ['type', 'material', 'arch'],
  properties: {
    type: oneOf(['soft_guard', 'hard_guard', 'dual_laminate', 'nti_tss']),
    material: oneOf(['soft_vinyl', 'hard_acrylic', 'dual_layer', 'thermoplastic']),
    thickness: oneOf(['1mm', '2mm', '3mm', '4mm', 'custom']),
    arch: oneOf(['upper', 'lower', 'both']),
    design: oneOf(['full_coverage', 'anterior_only', 'canine_guidance', 'balanced_occlusion']),
    special_features: {
      type: 'array',
      maxItems: 20,
      description:
        'Documented values: bite_ramps, tongue_space, breathing_holes, custom_thickness (not enforced, as in the original).',
      items: str({ maxLength: 100 }),
    },
  },
};

const Implant: Schema = {
  type: 'object',
  required: ['implant_system', 'implant_diameter', 'implant_length', 'tooth_number'],
  properties: {
    implant_system: oneOf([
      'nobel_biocare',
      'straumann',
      'zimmer_biomet',
      'dentsply_sirona',
      'megagen',
      'bicon',
      'other',
    ]),
    implant_diameter: oneOf([
      '3.0mm',
      '3.3mm',
      '3.5mm',
      '4.0mm',
      '4.1mm',
      '4.3mm',
      '4.5mm',
      '5.0mm',
      '6.0mm',
    ]),
    implant_length: oneOf(['6mm', '8mm', '10mm', '11.5mm', '13mm', '15mm', '18mm']),
    platform_type: oneOf(['external_hex', 'internal_hex', 'internal_tri_channel', 'morse_taper']),
    abutment_type: oneOf([
      'stock_abutment',
      'custom_abutment',
      'angled_abutment',
      'temporary_abutment',
    ]),
    restoration_type: oneOf([
      'single_crown',
      'bridge_abutment',
      'overdenture_attachment',
      'bar_retained',
    ]),
    tooth_number: int4(),
    tissue_level: oneOf(['tissue_level', 'bone_level', 'subcrestal']),
  },
};

const PatientInfo: Schema = {
  type: 'object',
  description:
    'Patient data (PHI). The listed keys are validated; other keys are kept as sent, as the original did. Encrypted at rest; never logged or audited by value.',
  properties: {
    patient_id: str({ maxLength: 100 }),
    age: int4({ minimum: 0, maximum: 150 }),
    gender: oneOf(['male', 'female', 'other']),
    medical_history: str({ maxLength: 10000 }),
  },
};

const DATE = str({ format: 'date', example: '2026-12-15' });
/** Why: required for on_hold, cancelled, reopening, due-date changes and backward stage moves. */
const REASON = str({
  minLength: 1,
  maxLength: 2000,
  description: 'Why (kept, encrypted, in the case timeline).',
});

const CaseInput: Schema = {
  type: 'object',
  required: ['doctor_id', 'product_id', 'case_type'],
  properties: {
    doctor_id: str({ minLength: 1, maxLength: 50 }),
    product_id: str({ minLength: 1, maxLength: 50 }),
    case_type: oneOf(CASE_TYPES),
    case_name: str({ maxLength: 255 }),
    description: str({ maxLength: 10000 }),
    priority: oneOf(PRIORITIES, { default: 'medium' }),
    assigned_to: str({ maxLength: 50 }),
    patient_info: ref('PatientInfo'),
    due_date: DATE,
    rush_order: { type: 'boolean', default: false },
    special_instructions: str({ maxLength: 10000 }),
    fixed_prosthetic: ref('FixedProsthetic'),
    denture: ref('Denture'),
    night_guard: ref('NightGuard'),
    implant: ref('Implant'),
  },
};

/** PUT is a partial update (as in the original); `null` clears a nullable field. */
const CaseUpdate: Schema = {
  type: 'object',
  properties: {
    case_name: nullable(str({ maxLength: 255 })),
    description: nullable(str({ maxLength: 10000 })),
    priority: oneOf(PRIORITIES),
    status: oneOf(CASE_STATUSES),
    assigned_to: nullable(str({ maxLength: 50 })),
    due_date: nullable(DATE),
    rush_order: { type: 'boolean' },
    special_instructions: nullable(str({ maxLength: 10000 })),
    case_type: oneOf(CASE_TYPES),
    patient_info: nullable(ref('PatientInfo')),
    fixed_prosthetic: nullable(ref('FixedProsthetic')),
    denture: nullable(ref('Denture')),
    night_guard: nullable(ref('NightGuard')),
    implant: nullable(ref('Implant')),
    reason: REASON,
  },
};

const StatusUpdate: Schema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: oneOf(CASE_STATUSES),
    reason: REASON,
  },
};

const StageUpdate: Schema = {
  type: 'object',
  required: ['stage'],
  properties: {
    stage: str({ pattern: '^[a-z][a-z0-9_]{0,49}$', example: 'qc' }),
    reason: REASON,
  },
};

const BulkStatusUpdate: Schema = {
  type: 'object',
  required: ['case_ids', 'status'],
  properties: {
    case_ids: {
      type: 'array',
      items: int4({ minimum: 1 }),
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
    },
    status: oneOf(CASE_STATUSES),
    reason: REASON,
  },
};

const BulkStatusResult: Schema = {
  type: 'object',
  required: ['results', 'succeeded', 'failed'],
  properties: {
    succeeded: { type: 'integer' },
    failed: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'ok'],
        properties: {
          id: { type: 'integer' },
          ok: { type: 'boolean' },
          status: oneOf(CASE_STATUSES, {
            description: 'The status after the request (ok) or the unchanged one.',
          }),
          version: { type: 'integer' },
          code: {
            type: 'integer',
            description: 'HTTP status this case alone would have got (failures).',
          },
          error: str({ description: 'Why it failed.' }),
          allowed_transitions: { type: 'array', items: oneOf(CASE_STATUSES) },
        },
      },
    },
  },
};

const LabSettingsUpdate: Schema = {
  type: 'object',
  required: ['stages'],
  properties: {
    stages: {
      type: 'array',
      minItems: 1,
      maxItems: 30,
      uniqueItems: true,
      items: str({ pattern: '^[a-z][a-z0-9_]{0,49}$' }),
      description: 'The ordered production stages of the lab (within in_progress).',
    },
  },
};

const LabSettings: Schema = {
  type: 'object',
  required: ['stages', 'customised'],
  properties: {
    stages: { type: 'array', items: str() },
    customised: { type: 'boolean', description: 'False while the lab uses the default stages.' },
    updated_at: nullable(str({ format: 'date-time' })),
  },
};

const CaseEvent: Schema = {
  type: 'object',
  required: ['id', 'event_type', 'occurred_at'],
  properties: {
    id: str(),
    event_type: oneOf([
      'created',
      'updated',
      'status_changed',
      'stage_changed',
      'reopened',
      'deleted',
      'note_created',
      'note_edited',
      'note_deleted',
      'attachment_added',
      'attachment_deleted',
    ]),
    actor_user_id: nullable(str()),
    occurred_at: str({ format: 'date-time' }),
    from_status: nullable(str()),
    to_status: nullable(str()),
    from_stage: nullable(str()),
    to_stage: nullable(str()),
    changed_fields: {
      type: 'array',
      description:
        'Names of the fields changed; old and new values only for fields that cannot carry PHI.',
      items: { type: 'object', properties: { field: str(), from: {}, to: {} } },
    },
    reason: nullable(str()),
    request_id: nullable(str()),
    note_id: nullable({
      type: 'integer',
      description:
        'The note a `note_*` event is about (its text is never in the timeline); null for other events.',
    }),
  },
};

const CaseEventList: Schema = {
  type: 'object',
  required: ['events'],
  properties: { events: { type: 'array', items: ref('CaseEvent') } },
};

const ts = str({ format: 'date-time', example: '2026-11-28T10:00:00.000Z' });

const Case: Schema = {
  type: 'object',
  description:
    "A case. Keys of the original's `Case` model in its order, then the additive v1 fields.",
  required: [
    'id',
    'doctor_id',
    'product_id',
    'lab_id',
    'priority',
    'status',
    'rush_order',
    'created_at',
    'updated_at',
  ],
  properties: {
    id: { type: 'integer' },
    doctor_id: str(),
    product_id: str(),
    lab_id: str({ description: 'Always a string (the UMS may send integers).' }),
    case_name: nullable(str()),
    description: nullable(str()),
    priority: oneOf(PRIORITIES),
    status: oneOf(CASE_STATUSES),
    assigned_to: nullable(str()),
    patient_info: nullable(ref('PatientInfo')),
    dental_details: {
      type: 'object',
      nullable: true,
      description:
        'The prescription object that matches `case_type` (always null in the original).',
    },
    due_date: nullable(DATE),
    rush_order: { type: 'boolean' },
    special_instructions: nullable(str()),
    case_type: oneOf(CASE_TYPES),
    created_at: ts,
    updated_at: ts,
    fixed_prosthetic: nullable(ref('FixedProsthetic')),
    denture: nullable(ref('Denture')),
    night_guard: nullable(ref('NightGuard')),
    implant: nullable(ref('Implant')),
    case_number: str({
      description: 'Per-lab, human-readable: <lab code>-<YYMM>-<seq>.',
      example: 'TL-2611-0042',
    }),
    stage: nullable(
      str({ description: "Production stage while in_progress (the lab's stage list)." }),
    ),
    held_from_status: nullable(
      oneOf(['pending', 'in_progress'], {
        description: 'While on_hold: the status a resume returns to.',
      }),
    ),
    version: {
      type: 'integer',
      description: 'Optimistic concurrency version; the ETag is its quoted value.',
    },
    ship_by: nullable({
      ...DATE,
      description:
        "The date the work must leave the lab: the due date less the transit days, in the lab's working days.",
    }),
    due_date_feasible: nullable({
      type: 'boolean',
      description:
        'False when the due date is earlier than the rush turnaround allows from receipt (kept, not refused).',
    }),
    late: {
      type: 'boolean',
      description:
        'Derived on read: open (not completed, cancelled, shipped or delivered) and past ship_by (or the due date).',
    },
    at_risk: {
      type: 'boolean',
      description:
        "Derived on read: not yet late, but the remaining stages' expected days exceed the working days left to ship_by.",
    },
    days_late: {
      type: 'integer',
      description: 'Derived on read: calendar days past ship_by (or the due date); 0 unless late.',
    },
    remake_of: nullable({
      type: 'integer',
      description:
        'The case this one remakes (POST /cases/{id}/remake); null for a case that is not a remake.',
    }),
    remake_reason: nullable(
      str({
        description: "A remake's reason code (the lab's remake reason catalogue); null otherwise.",
      }),
    ),
    remake_responsibility: nullable(
      oneOf(REMAKE_RESPONSIBILITIES, { description: "A remake's responsibility; null otherwise." }),
    ),
    remake_chargeable: nullable({
      type: 'boolean',
      description:
        'Whether the doctor is charged for the remake; null for a case that is not a remake.',
    }),
    remakes: {
      type: 'array',
      items: { type: 'integer' },
      description:
        'Derived on read: the ids of the live remakes of this case, oldest first ([] when none).',
    },
  },
};

const Pagination: Schema = {
  type: 'object',
  required: ['page', 'per_page', 'total', 'pages', 'has_prev', 'has_next'],
  properties: {
    page: { type: 'integer' },
    per_page: { type: 'integer' },
    total: { type: 'integer' },
    pages: { type: 'integer' },
    has_prev: { type: 'boolean' },
    has_next: { type: 'boolean' },
  },
};

const CaseListResponse: Schema = {
  type: 'object',
  required: ['cases', 'pagination'],
  properties: {
    cases: { type: 'array', items: ref('Case') },
    pagination: ref('Pagination'),
  },
};

const CursorPage: Schema = {
  type: 'object',
  description:
    'Keyset page (`cursor`/`limit` query): stable under inserts, flat latency at any depth.',
  required: ['cases', 'next_cursor', 'limit'],
  properties: {
    cases: { type: 'array', items: ref('Case') },
    next_cursor: nullable(
      str({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    ),
    limit: { type: 'integer' },
  },
};

const Address: Schema = {
  type: 'object',
  properties: {
    street: nullable(str()),
    city: nullable(str()),
    state: nullable(str()),
    zip_code: nullable(str()),
    country: nullable(str()),
  },
};

const DoctorAccount: Schema = {
  type: 'object',
  properties: {
    doctor_id: nullable(str()),
    first_name: nullable(str()),
    last_name: nullable(str()),
    email: nullable(str()),
    phone: nullable(str()),
    practice_name: nullable(str()),
    license_number: nullable(str()),
    specialty: nullable(str()),
    address: ref('Address'),
    lab_relations: { type: 'array', nullable: true, items: str() },
    created_at: nullable(str()),
    is_active: { type: 'boolean', nullable: true },
  },
};

const Error: Schema = {
  type: 'object',
  description: 'The one error shape of every error response.',
  required: ['error', 'message', 'code', 'timestamp', 'request_id'],
  properties: {
    error: str({ example: 'Not Found' }),
    message: str({ example: 'Case not found' }),
    code: { type: 'integer', example: 404 },
    timestamp: ts,
    request_id: str(),
    errors: {
      type: 'object',
      additionalProperties: str(),
      description: 'Validation errors by dotted field path (400 only).',
      example: { 'fixed_prosthetic.tooth_numbers.0': "is not of type 'integer'" },
    },
  },
};

const ReferenceData: Schema = {
  type: 'object',
  description: 'Static reference data, exactly as the original served it.',
  required: ['api_version'],
  properties: { api_version: str({ example: '1.0' }) },
  additionalProperties: true,
};

/** Every named schema: the OpenAPI `components.schemas` and the validator's registry. */
export const SCHEMAS: Record<string, Schema> = {
  Shade,
  FixedProsthetic,
  Denture,
  NightGuard,
  Implant,
  PatientInfo,
  CaseInput,
  CaseUpdate,
  StatusUpdate,
  StageUpdate,
  BulkStatusUpdate,
  BulkStatusResult,
  LabSettingsUpdate,
  LabSettings,
  CaseEvent,
  CaseEventList,
  Case,
  Pagination,
  CaseListResponse,
  CursorPage,
  Address,
  DoctorAccount,
  Error,
  ReferenceData,
};

export type SchemaName = keyof typeof SCHEMAS;

// ---- the TypeScript side of the request models ---------------------------------

export type Json = Record<string, unknown>;

export interface CaseInputBody {
  doctor_id: string;
  product_id: string;
  case_type: CaseType;
  case_name?: string;
  description?: string;
  priority?: Priority;
  assigned_to?: string;
  patient_info?: Json;
  due_date?: string;
  rush_order?: boolean;
  special_instructions?: string;
  fixed_prosthetic?: Json;
  denture?: Json;
  night_guard?: Json;
  implant?: Json;
}

export interface CaseUpdateBody {
  case_name?: string | null;
  description?: string | null;
  priority?: Priority;
  status?: CaseStatus;
  assigned_to?: string | null;
  due_date?: string | null;
  rush_order?: boolean;
  special_instructions?: string | null;
  case_type?: CaseType;
  patient_info?: Json | null;
  fixed_prosthetic?: Json | null;
  denture?: Json | null;
  night_guard?: Json | null;
  implant?: Json | null;
  reason?: string;
}

export interface StatusUpdateBody {
  status: CaseStatus;
  reason?: string;
}

export interface StageUpdateBody {
  stage: string;
  reason?: string;
}

export interface BulkStatusBody {
  case_ids: number[];
  status: CaseStatus;
  reason?: string;
}

export interface LabSettingsBody {
  stages: string[];
}
