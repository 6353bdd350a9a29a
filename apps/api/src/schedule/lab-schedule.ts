import { Injectable } from '@nestjs/common';
import { type Db, rows, TenantDb } from '@lhcms/database';
import { CASE_TYPES, type CaseType } from '../case-model';
import { ValidationFailedError } from '../common/errors/domain-error';
import {
  addWorkingDays,
  isCivilDate,
  isKnownHolidayRegion,
  isKnownTimeZone,
  type IsoWeekday,
  localTime,
  receiptDay,
  subtractWorkingDays,
  WEEKDAY_NAMES,
  type WorkCalendar,
} from './business-days';
import { ScheduleClock } from './case-timing';
import {
  type LabCalendarBody,
  type RemakeReason,
  type RemakeReasonsBody,
  STAGE_NAME,
  type TurnaroundBody,
  type TurnaroundEntry,
} from './schedule.schemas';

export interface LabCalendar {
  time_zone: string;
  working_days: Array<(typeof WEEKDAY_NAMES)[number]>;
  cutoff: string;
  closures: Array<{ date: string; label?: string }>;
  holidays: { country: string; region?: string } | null;
}

export interface Turnaround {
  entries: TurnaroundEntry[];
  stage_days: Record<string, number>;
  remake_uses_rush: boolean;
}

type Stored<T> = T & { customised: boolean; updated_at: string | null };

/** What a lab's row says, with the defaults filled in (the per-process cache holds this). */
interface Schedule {
  calendar: LabCalendar;
  turnaround: Turnaround;
  remakeReasons: readonly RemakeReason[];
}

/** A lab that never set its calendar: UTC, Monday to Friday, 17:00 cut-off, no closures. */
export const DEFAULT_CALENDAR: LabCalendar = {
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  cutoff: '17:00',
  closures: [],
  holidays: null,
};

/** Typical working days per case type (standard / rush / transit) until a lab sets its own. */
const DEFAULT_DAYS: Record<CaseType, [number, number, number]> = {
  fixed_prosthetic: [5, 2, 1],
  denture: [10, 5, 1],
  night_guard: [5, 2, 1],
  implant: [10, 5, 1],
  orthodontic: [7, 3, 1],
  other: [5, 2, 1],
};

export const DEFAULT_TURNAROUND: Turnaround = {
  entries: CASE_TYPES.map((case_type) => {
    const [standard_days, rush_days, transit_days] = DEFAULT_DAYS[case_type];
    return { case_type, product_id: null, standard_days, rush_days, transit_days };
  }),
  stage_days: { received: 0, design: 1, manufacturing: 2, finishing: 1, qc: 1, ready_to_ship: 0 },
  remake_uses_rush: true,
};

/** The remake reason catalogue of a lab that never set its own (issue 16's list). */
export const DEFAULT_REMAKE_REASONS: readonly RemakeReason[] = [
  { code: 'fit', label: 'Fit' },
  { code: 'contacts', label: 'Contacts' },
  { code: 'occlusion', label: 'Occlusion' },
  { code: 'shade', label: 'Shade' },
  { code: 'fracture', label: 'Fracture' },
  { code: 'margin', label: 'Margin' },
  { code: 'doctor_change', label: 'Doctor change' },
  { code: 'scan_impression', label: 'Scan or impression problem' },
];

/** What the schedule says about one case. */
export interface CasePlan {
  due_date: string;
  ship_by: string;
  due_date_feasible: boolean;
}

const CACHE_MS = 30_000;

/**
 * The lab's schedule: its calendar and turnaround table (stored per lab in
 * `lab_schedules`, defaults until an admin changes them) and what follows
 * from them for a case — its due date, ship-by date and whether a requested
 * due date is feasible. Read through a short per-process cache (30 s; a
 * replica that saves drops its own copy at once).
 */
@Injectable()
export class LabSchedule {
  private readonly cache = new Map<string, { until: number; value: Schedule }>();

  constructor(private readonly db: TenantDb) {}

  async calendar(labId: string): Promise<Stored<LabCalendar>> {
    const row = await this.db.read(labId, (em) => this.load(em, labId));
    return {
      ...(row?.calendar ?? DEFAULT_CALENDAR),
      customised: Boolean(row?.calendar),
      updated_at: row?.calendar ? row.updated_at : null,
    };
  }

  async turnaround(labId: string): Promise<Stored<Turnaround>> {
    const row = await this.db.read(labId, (em) => this.load(em, labId));
    return {
      ...(row?.turnaround ? withDefaults(row.turnaround) : DEFAULT_TURNAROUND),
      customised: Boolean(row?.turnaround),
      updated_at: row?.turnaround ? row.updated_at : null,
    };
  }

  async remakeReasons(labId: string): Promise<Stored<{ reasons: RemakeReason[] }>> {
    const row = await this.db.read(labId, (em) => this.load(em, labId));
    return {
      reasons: [...(row?.remake_reasons ?? DEFAULT_REMAKE_REASONS)],
      customised: Boolean(row?.remake_reasons),
      updated_at: row?.remake_reasons ? row.updated_at : null,
    };
  }

  /**
   * The lab's remake reason, by code, or undefined when the catalogue has no
   * such code. `em`: the caller's transaction.
   */
  async remakeReason(labId: string, code: string, em?: Db): Promise<RemakeReason | undefined> {
    return (await this.cached(labId, em)).remakeReasons.find((r) => r.code === code);
  }

  async saveRemakeReasons(
    labId: string,
    userId: string,
    body: RemakeReasonsBody,
  ): Promise<Stored<{ reasons: RemakeReason[] }>> {
    await this.save(labId, userId, 'remake_reasons', checkRemakeReasons(body));
    return this.remakeReasons(labId);
  }

  async saveCalendar(
    labId: string,
    userId: string,
    body: LabCalendarBody,
  ): Promise<Stored<LabCalendar>> {
    const calendar = checkCalendar(body);
    await this.save(labId, userId, 'calendar', calendar);
    return this.calendar(labId);
  }

  async saveTurnaround(
    labId: string,
    userId: string,
    body: TurnaroundBody,
  ): Promise<Stored<Turnaround>> {
    const turnaround = checkTurnaround(body);
    await this.save(labId, userId, 'turnaround', turnaround);
    return this.turnaround(labId);
  }

  /**
   * The dates of a case received at `receivedAt`. Without a requested due
   * date: receipt day + the turnaround (rush days for a rush order). With
   * one: it is kept, and flagged infeasible when it is before receipt day +
   * the rush turnaround. Either way ship_by = due − transit working days.
   */
  async plan(
    labId: string,
    c: {
      caseType: CaseType;
      productId: string;
      rush: boolean;
      receivedAt: Date;
      dueDate?: string | null;
      /** A remake: scheduled as a rush order when the lab's turnaround says `remake_uses_rush`. */
      remake?: boolean;
    },
    /** The caller's transaction, when it has one open (no second connection is taken). */
    em?: Db,
  ): Promise<CasePlan> {
    const { calendar, turnaround } = await this.cached(labId, em);
    const cal = workCalendar(calendar);
    const t = turnaroundFor(turnaround, c.caseType, c.productId);
    const start = receiptDay(cal, c.receivedAt);
    const earliest = addWorkingDays(cal, start, t.rush_days);
    const rush = c.rush || (c.remake === true && turnaround.remake_uses_rush);
    const due = c.dueDate ?? addWorkingDays(cal, start, rush ? t.rush_days : t.standard_days);
    return {
      due_date: due,
      ship_by: subtractWorkingDays(cal, due, t.transit_days),
      due_date_feasible: due >= earliest,
    };
  }

  /** The lab's clock for the timing flags: its calendar, stage days and today in its zone. */
  async clock(labId: string, now = new Date(), em?: Db): Promise<ScheduleClock> {
    const schedule = await this.cached(labId, em);
    const { calendar, turnaround } = schedule;
    const today = localTime(calendar.time_zone, now).date;
    // One clock per lab, schedule and day: it is immutable, and it memoises its day counts.
    const known = this.clocks.get(labId);
    if (known && known.schedule === schedule && known.today === today) return known.clock;
    const clock = new ScheduleClock(workCalendar(calendar), turnaround.stage_days, today);
    if (this.clocks.size >= 10_000) this.clocks.clear();
    this.clocks.set(labId, { schedule, today, clock });
    return clock;
  }

  /** The last clock made for each lab (see clock()). */
  private readonly clocks = new Map<
    string,
    { schedule: Schedule; today: string; clock: ScheduleClock }
  >();

  /** The lab's calendar for date arithmetic (reports) and today's date in its time zone. */
  async workCalendarNow(
    labId: string,
    now = new Date(),
  ): Promise<{ calendar: WorkCalendar; today: string }> {
    const { calendar } = await this.cached(labId);
    return {
      calendar: workCalendar(calendar),
      today: localTime(calendar.time_zone, now).date,
    };
  }

  private async cached(labId: string, em?: Db): Promise<Schedule> {
    const hit = this.cache.get(labId);
    if (hit && hit.until > Date.now()) return hit.value;
    const row = em
      ? await this.load(em, labId)
      : await this.db.read(labId, (tx) => this.load(tx, labId));
    const value = {
      calendar: row?.calendar ?? DEFAULT_CALENDAR,
      turnaround: row?.turnaround ? withDefaults(row.turnaround) : DEFAULT_TURNAROUND,
      remakeReasons: row?.remake_reasons ?? DEFAULT_REMAKE_REASONS,
    };
    this.cache.set(labId, { until: Date.now() + CACHE_MS, value });
    return value;
  }

  private async load(em: Db, labId: string) {
    const found = await rows<{
      calendar: LabCalendar | null;
      turnaround: Turnaround | null;
      remake_reasons: RemakeReason[] | null;
      updated_at: string;
    }>(
      em,
      `SELECT calendar, turnaround, remake_reasons,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
       FROM lab_schedules WHERE lab_id = $1`,
      [labId],
    );
    return found[0];
  }

  private async save(
    labId: string,
    userId: string,
    part: 'calendar' | 'turnaround' | 'remake_reasons',
    doc: object,
  ) {
    // `part` is one of three literal column names, never input.
    await this.db.withLab(labId, (em) =>
      rows(
        em,
        `INSERT INTO lab_schedules (lab_id, ${part}, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (lab_id) DO UPDATE SET ${part} = EXCLUDED.${part},
           updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [labId, JSON.stringify(doc), userId],
      ),
    );
    this.cache.delete(labId);
  }
}

/** The arithmetic's view of a stored calendar. */
export function workCalendar(c: LabCalendar): WorkCalendar {
  const [h, m] = c.cutoff.split(':').map(Number);
  return {
    timeZone: c.time_zone,
    workingDays: new Set(c.working_days.map((d) => (WEEKDAY_NAMES.indexOf(d) + 1) as IsoWeekday)),
    closures: new Set(c.closures.map((x) => x.date)),
    holidays: c.holidays ?? undefined,
    cutoffMinutes: (h ?? 0) * 60 + (m ?? 0),
  };
}

/** The product's own entry, else the case type's, else the default of the case type. */
export function turnaroundFor(
  t: Turnaround,
  caseType: CaseType,
  productId: string,
): TurnaroundEntry {
  return (
    t.entries.find((e) => e.case_type === caseType && e.product_id === productId) ??
    t.entries.find((e) => e.case_type === caseType && (e.product_id ?? null) === null) ??
    DEFAULT_TURNAROUND.entries.find((e) => e.case_type === caseType)!
  );
}

function withDefaults(t: Partial<Turnaround>): Turnaround {
  return {
    entries: t.entries ?? [],
    stage_days: t.stage_days ?? DEFAULT_TURNAROUND.stage_days,
    remake_uses_rush: t.remake_uses_rush ?? DEFAULT_TURNAROUND.remake_uses_rush,
  };
}

/** What the schema cannot say: a known zone and region, real and distinct dates. 400 naming each field. */
function checkCalendar(body: LabCalendarBody): LabCalendar {
  const errors: Record<string, string> = {};
  if (!isKnownTimeZone(body.time_zone)) errors.time_zone = 'is not a known IANA time zone';
  const seen = new Set<string>();
  (body.closures ?? []).forEach((c, i) => {
    if (!isCivilDate(c.date)) errors[`closures.${i}.date`] = 'is not a calendar date';
    else if (seen.has(c.date)) errors[`closures.${i}.date`] = 'is listed twice';
    seen.add(c.date);
  });
  if (body.holidays && !isKnownHolidayRegion(body.holidays)) {
    errors.holidays = 'is not a country (and region) with known public holidays';
  }
  if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
  return {
    time_zone: body.time_zone,
    working_days: WEEKDAY_NAMES.filter((d) => body.working_days.includes(d)),
    cutoff: body.cutoff,
    closures: [...(body.closures ?? [])]
      .map((c) => (c.label === undefined ? { date: c.date } : { date: c.date, label: c.label }))
      .sort((a, b) => a.date.localeCompare(b.date)),
    holidays: body.holidays
      ? body.holidays.region === undefined
        ? { country: body.holidays.country }
        : { country: body.holidays.country, region: body.holidays.region }
      : null,
  };
}

/** Codes once each (a 400 naming the repeat); labels kept as sent, in the order sent. */
function checkRemakeReasons(body: RemakeReasonsBody): RemakeReason[] {
  const errors: Record<string, string> = {};
  const seen = new Set<string>();
  body.reasons.forEach((r, i) => {
    if (seen.has(r.code)) errors[`reasons.${i}.code`] = 'is listed twice';
    seen.add(r.code);
  });
  if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
  return body.reasons.map((r) => ({ code: r.code, label: r.label }));
}

function checkTurnaround(body: TurnaroundBody): Turnaround {
  const errors: Record<string, string> = {};
  const seen = new Set<string>();
  body.entries.forEach((e, i) => {
    if (e.rush_days > e.standard_days)
      errors[`entries.${i}.rush_days`] = 'is more than standard_days';
    const key = `${e.case_type}|${e.product_id ?? ''}`;
    if (seen.has(key)) errors[`entries.${i}`] = 'repeats an earlier case_type and product_id';
    seen.add(key);
  });
  for (const stage of Object.keys(body.stage_days ?? {})) {
    if (!STAGE_NAME.test(stage)) errors.stage_days = 'has a key that is not a stage name';
  }
  if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
  return {
    entries: body.entries.map((e) => ({
      case_type: e.case_type,
      product_id: e.product_id ?? null,
      standard_days: e.standard_days,
      rush_days: e.rush_days,
      transit_days: e.transit_days,
    })),
    stage_days: body.stage_days ?? DEFAULT_TURNAROUND.stage_days,
    remake_uses_rush: body.remake_uses_rush ?? DEFAULT_TURNAROUND.remake_uses_rush,
  };
}
