/** Wire schemas of emergency access (registered by the controller's SchemaPipe: validation and OpenAPI). */
type Schema = Record<string, unknown>;
const ts = (nullable = false): Schema => ({ type: 'string', format: 'date-time', nullable });
const text = (nullable = false): Schema => ({ type: 'string', nullable });

export const GRANT_ACCESS = ['read', 'write'] as const;
export type GrantAccess = (typeof GRANT_ACCESS)[number];
export const GRANT_STATUSES = ['pending', 'active', 'expired', 'revoked'] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];

const grant: Schema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    lab_id: { type: 'string' },
    case_id: {
      type: 'string',
      nullable: true,
      description: 'The one case a case-scoped grant reaches; null: the whole lab.',
    },
    requester_id: { type: 'string' },
    requester_name: text(true),
    reason: { type: 'string', description: 'The justification, as given (stored encrypted).' },
    access: { type: 'string', enum: [...GRANT_ACCESS] },
    status: { type: 'string', enum: [...GRANT_STATUSES] },
    duration_minutes: { type: 'integer' },
    created_at: ts(),
    approved_at: ts(true),
    approved_by: text(true),
    expires_at: { ...ts(true), description: 'null while pending approval' },
    revoked_at: ts(true),
    revoked_by: text(true),
  },
};

export const EMERGENCY_SCHEMAS = {
  EmergencyGrantRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['lab_id', 'reason'],
    properties: {
      lab_id: {
        type: 'string',
        minLength: 1,
        maxLength: 50,
        description: 'The lab to reach, as X-Lab-Id names it (letters, digits, `_`, `-`).',
      },
      case_id: {
        type: 'integer',
        minimum: 1,
        maximum: 2147483647,
        description: 'Reach only this case (optional).',
      },
      reason: {
        type: 'string',
        minLength: 1,
        maxLength: 2000,
        description: 'Why the access is needed (mandatory; free text, stored encrypted).',
      },
      duration_minutes: {
        type: 'integer',
        minimum: 1,
        maximum: 10080,
        description:
          'Default EMERGENCY_ACCESS_DEFAULT_MINUTES (60); at most EMERGENCY_ACCESS_MAX_MINUTES (480).',
      },
      access: { type: 'string', enum: [...GRANT_ACCESS], default: 'read' },
    },
  },
  EmergencyGrantAction: {
    type: 'object',
    additionalProperties: false,
    description: 'An empty JSON object (`{}`): revoke and approve take no input.',
    properties: {},
  },
  EmergencyGrant: grant,
  EmergencyGrantList: {
    type: 'object',
    properties: {
      lab_id: {
        type: 'string',
        nullable: true,
        description: 'The lab whose grants these are (X-Lab-Id); null: your own, on every lab.',
      },
      grants: { type: 'array', items: grant },
    },
  },
  EmergencyGrantDetail: {
    type: 'object',
    properties: {
      ...(grant.properties as Schema),
      accesses: {
        type: 'array',
        description:
          "The grant's accesses, newest first, from the lab's audit trail (at most 500).",
        items: {
          type: 'object',
          properties: {
            occurred_at: ts(),
            actor_user_id: text(true),
            action: { type: 'string' },
            interaction: { type: 'string' },
            resource_type: text(true),
            resource_id: text(true),
            outcome: { type: 'string' },
            http_status: { type: 'integer', nullable: true },
            http_method: text(true),
            route: text(true),
          },
        },
      },
    },
  },
} as const;

/** The body of POST /api/v1/emergency-access, as the schema lets it through. */
export interface EmergencyGrantRequestBody {
  lab_id: string;
  case_id?: number;
  reason: string;
  duration_minutes?: number;
  access?: GrantAccess;
}
