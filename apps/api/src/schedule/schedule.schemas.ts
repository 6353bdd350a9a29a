import { CASE_TYPES } from '../case-model';
import { WEEKDAY_NAMES, type WeekdayName } from './business-days';

/** Wire schemas of the lab's schedule (registered by the controller's SchemaPipes). */
type Schema = Record<string, unknown>;
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const nullable = (s: Schema): Schema => ({ ...s, nullable: true });
const days = (max: number, description: string): Schema => ({
  type: 'integer',
  minimum: 0,
  maximum: max,
  description,
});

export const MAX_CLOSURES = 1_000;
export const MAX_TURNAROUND_ENTRIES = 500;
export const MAX_TURNAROUND_DAYS = 365;
export const MAX_TRANSIT_DAYS = 30;
/** A stage name (as in the lab's stage list); checked by the service (OpenAPI 3.0 has no propertyNames). */
export const STAGE_NAME = /^[a-z][a-z0-9_]{0,49}$/;

const CALENDAR_FIELDS: Schema = {
  time_zone: str({
    maxLength: 64,
    description: 'IANA time zone of the lab (`America/New_York`).',
    example: 'America/New_York',
  }),
  working_days: {
    type: 'array',
    minItems: 1,
    maxItems: 7,
    uniqueItems: true,
    items: str({ enum: [...WEEKDAY_NAMES] }),
    example: ['mon', 'tue', 'wed', 'thu', 'fri'],
  },
  cutoff: str({
    pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
    description:
      "Daily cut-off, `HH:MM` in the lab's time zone: a case received after it counts from the next working day.",
    example: '17:00',
  }),
  closures: {
    type: 'array',
    maxItems: MAX_CLOSURES,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['date'],
      properties: {
        date: str({ format: 'date', example: '2026-12-24' }),
        label: str({ maxLength: 100, example: 'Christmas Eve' }),
      },
    },
    description: 'Dates the lab is closed on, besides public holidays.',
  },
  holidays: nullable({
    type: 'object',
    additionalProperties: false,
    required: ['country'],
    properties: {
      country: str({ pattern: '^[A-Z]{2}$', example: 'US' }),
      region: str({ pattern: '^[A-Z0-9]{1,10}$', example: 'CA' }),
    },
    description: 'Public holidays of a country (and region) the lab closes on; null: none.',
  }),
};

const TURNAROUND_ENTRY: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['case_type', 'standard_days', 'rush_days', 'transit_days'],
  properties: {
    case_type: str({ enum: [...CASE_TYPES] }),
    product_id: nullable(
      str({
        minLength: 1,
        maxLength: 50,
        description: 'Only for this product (null: the case type).',
      }),
    ),
    standard_days: days(MAX_TURNAROUND_DAYS, 'Working days from receipt to the due date.'),
    rush_days: days(MAX_TURNAROUND_DAYS, 'The same for rush orders (at most standard_days).'),
    transit_days: days(
      MAX_TRANSIT_DAYS,
      'Working days in transit to the doctor (ship_by = due − transit).',
    ),
  },
};

const TURNAROUND_FIELDS: Schema = {
  entries: { type: 'array', maxItems: MAX_TURNAROUND_ENTRIES, items: TURNAROUND_ENTRY },
  stage_days: {
    type: 'object',
    maxProperties: 30,
    additionalProperties: days(MAX_TURNAROUND_DAYS, 'Expected working days in the stage.'),
    description: 'Expected working days per production stage (the at-risk flag reads them).',
  },
  remake_uses_rush: {
    type: 'boolean',
    description: 'Whether remakes are scheduled with the rush turnaround.',
  },
};

export const MAX_REMAKE_REASONS = 100;

const REMAKE_REASON: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'label'],
  properties: {
    code: str({
      pattern: '^[a-z][a-z0-9_]{0,49}$',
      description: 'What a remake request sends as `reason_code` (stored on the remake).',
      example: 'fit',
    }),
    label: str({ minLength: 1, maxLength: 100, example: 'Fit' }),
  },
};

const REMAKE_REASON_FIELDS: Schema = {
  reasons: { type: 'array', minItems: 1, maxItems: MAX_REMAKE_REASONS, items: REMAKE_REASON },
};

const meta = {
  customised: { type: 'boolean', description: 'False while the lab uses the defaults.' },
  updated_at: nullable(str({ format: 'date-time' })),
};

export const SCHEDULE_SCHEMAS = {
  LabCalendarUpdate: {
    type: 'object',
    additionalProperties: false,
    required: ['time_zone', 'working_days', 'cutoff'],
    properties: CALENDAR_FIELDS,
  },
  LabCalendar: {
    type: 'object',
    required: ['time_zone', 'working_days', 'cutoff', 'closures', 'holidays', 'customised'],
    properties: { ...CALENDAR_FIELDS, ...meta },
  },
  TurnaroundUpdate: {
    type: 'object',
    additionalProperties: false,
    required: ['entries'],
    properties: TURNAROUND_FIELDS,
  },
  Turnaround: {
    type: 'object',
    required: ['entries', 'stage_days', 'remake_uses_rush', 'customised'],
    properties: { ...TURNAROUND_FIELDS, ...meta },
  },
  RemakeReasonsUpdate: {
    type: 'object',
    additionalProperties: false,
    required: ['reasons'],
    properties: REMAKE_REASON_FIELDS,
  },
  RemakeReasons: {
    type: 'object',
    required: ['reasons', 'customised'],
    properties: { ...REMAKE_REASON_FIELDS, ...meta },
  },
} as const;

export interface RemakeReason {
  code: string;
  label: string;
}

export interface RemakeReasonsBody {
  reasons: RemakeReason[];
}

export interface LabCalendarBody {
  time_zone: string;
  working_days: WeekdayName[];
  cutoff: string;
  closures?: Array<{ date: string; label?: string }>;
  holidays?: { country: string; region?: string } | null;
}

export interface TurnaroundEntry {
  case_type: (typeof CASE_TYPES)[number];
  product_id?: string | null;
  standard_days: number;
  rush_days: number;
  transit_days: number;
}

export interface TurnaroundBody {
  entries: TurnaroundEntry[];
  stage_days?: Record<string, number>;
  remake_uses_rush?: boolean;
}
