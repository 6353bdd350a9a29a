/** Wire schemas of the reports (registered by the controller: OpenAPI and the settings body). */
type Schema = Record<string, unknown>;
const int: Schema = { type: 'integer', minimum: 0 };
const date: Schema = { type: 'string', format: 'date' };
const rate: Schema = {
  type: 'number',
  nullable: true,
  minimum: 0,
  maximum: 1,
  description: 'A share (4 decimals); null without a denominator.',
};
const head: Schema = {
  report: { type: 'string' },
  time_zone: { type: 'string', description: "The lab's time zone: the dates are its dates." },
};
const ranged: Schema = { ...head, from: date, to: date };
const obj = (properties: Schema, required = Object.keys(properties)): Schema => ({
  type: 'object',
  required,
  properties,
});
const list = (items: Schema): Schema => ({ type: 'array', items });
const onTimeFigures: Schema = {
  shipped: int,
  on_time: int,
  late: int,
  no_date: { ...int, description: 'Shipped without a ship-by or due date (not in the rate).' },
  on_time_rate: rate,
};
const remakeFigures: Schema = { remakes: int, chargeable: int, remake_rate: rate };

export const REPORT_SCHEMAS = {
  ReportSettingsUpdate: {
    type: 'object',
    additionalProperties: false,
    required: ['viewer_access'],
    properties: {
      viewer_access: {
        type: 'boolean',
        description:
          "Whether the lab's viewers may read its reports (admins and members always may).",
      },
    },
  },
  ReportSettings: obj({
    viewer_access: { type: 'boolean' },
    customised: {
      type: 'boolean',
      description: 'False while the lab uses the default (viewers may).',
    },
    updated_at: { type: 'string', format: 'date-time', nullable: true },
  }),
  WipByStageReport: obj({
    ...head,
    as_of: date,
    total: obj({ cases: int, late: int }),
    rows: list(
      obj({
        status: { type: 'string' },
        stage: { type: 'string', nullable: true },
        cases: int,
        late: int,
      }),
    ),
  }),
  DueCalendarReport: obj({
    ...ranged,
    days: int,
    overdue: obj({ due: int, ship_by: int }),
    rows: list(obj({ date, due: int, ship_by: int })),
  }),
  OnTimeReport: obj({
    ...ranged,
    total: obj(onTimeFigures),
    by_week: list(obj({ week: { type: 'string', example: '2026-W49' }, ...onTimeFigures })),
    by_case_type: list(obj({ case_type: { type: 'string' }, ...onTimeFigures })),
  }),
  RemakesReport: obj({
    ...ranged,
    total: obj({ cases: int, ...remakeFigures }),
    by_reason: list(obj({ reason: { type: 'string' }, ...remakeFigures })),
    by_responsibility: list(
      obj({
        responsibility: { type: 'string', enum: ['lab', 'doctor', 'unknown'] },
        ...remakeFigures,
      }),
    ),
  }),
  ThroughputReport: obj({
    ...ranged,
    total: obj({ received: int, shipped: int }),
    rows: list(obj({ week: { type: 'string', example: '2026-W49' }, received: int, shipped: int })),
  }),
} as const;

export interface ReportSettingsBody {
  viewer_access: boolean;
}
