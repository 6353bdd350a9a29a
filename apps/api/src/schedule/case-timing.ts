import {
  addDays,
  addWorkingDays,
  toDayNumber,
  type WorkCalendar,
  workingDaysBetween,
} from './business-days';

/** Derived on read (never stored): where a case stands against its dates. */
export interface CaseTiming {
  late: boolean;
  at_risk: boolean;
  /** Calendar days past ship-by (or the due date without one); 0 unless late. */
  days_late: number;
}

export const ON_TIME: CaseTiming = { late: false, at_risk: false, days_late: 0 };

/** Statuses in which a case can no longer be late (the SQL queue filter reads these too). */
export const FINISHED_STATUSES = ['completed', 'cancelled'] as const;
/** The stages after which the work has left the lab. */
export const GONE_STAGES = ['shipped', 'delivered'] as const;
const FINISHED = new Set<string>(FINISHED_STATUSES);

const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * An open case, in SQL (on the `cases` columns `status` and `stage`): not
 * completed or cancelled, and not shipped or delivered. The lists are the
 * constants above (code-defined, never input).
 */
export const OPEN_CASE_SQL = `(status NOT IN (${sqlList(FINISHED_STATUSES)})
  AND coalesce(stage, '') NOT IN (${sqlList(GONE_STAGES)}))`;

/**
 * `late`, in SQL: the rule of `ScheduleClock.timing` for the queue filter and
 * the reports — open, and past ship-by (the due date without one). `today`
 * is the SQL of the lab's date (a parameter, e.g. `$3`).
 */
export const lateSql = (today: string) =>
  `(${OPEN_CASE_SQL} AND coalesce(ship_by, due_date) < ${today}::date)`;
const GONE = new Set<string>(GONE_STAGES);

export interface TimedCase {
  status: string;
  stage: string | null;
  due_date: string | null;
  ship_by: string | null;
}

/**
 * A lab's "now" for the timing flags: its calendar, the expected days per
 * stage and today's date in its time zone. `timing` is pure, so a fixed clock
 * tests it.
 */
export class ScheduleClock {
  constructor(
    private readonly calendar: WorkCalendar,
    private readonly stageDays: Readonly<Record<string, number>>,
    /** Today, `YYYY-MM-DD` in the lab's time zone. */
    readonly today: string,
  ) {}

  /**
   * - `late`: an open case (not completed, cancelled, shipped or delivered)
   *   past its ship-by date — or its due date when it has no ship-by;
   *   on hold pauses nothing: the promise to the doctor stands.
   * - `days_late`: calendar days past that date.
   * - `at_risk`: an open case not yet late whose remaining stages (the
   *   current one included; all of them before production starts) are
   *   expected to need more working days than are left up to ship-by
   *   (today counted when it is a working day).
   */
  /** Working days from today up to `target`, counted up to needed + 1 (enough to decide), memoised. */
  private workingDaysLeft(target: string, needed: number): number {
    const key = `${target}|${needed}`;
    const known = this.daysLeft.get(key);
    if (known !== undefined) return known;
    const n = workingDaysBetween(this.calendar, addDays(this.today, -1), target, needed + 1);
    // A clock lives for a lab's day (LabSchedule reuses it): a bound keeps a long day small.
    if (this.daysLeft.size >= 10_000) this.daysLeft.clear();
    this.daysLeft.set(key, n);
    return n;
  }

  /** workingDaysLeft's answers: the clock is immutable, so they hold for its life. */
  private readonly daysLeft = new Map<string, number>();

  timing(c: TimedCase, stages: readonly string[]): CaseTiming {
    const target = c.ship_by ?? c.due_date;
    if (!target || FINISHED.has(c.status)) return ON_TIME;
    if (c.stage && GONE.has(c.stage)) return ON_TIME;
    const past = toDayNumber(this.today) - toDayNumber(target);
    if (past > 0) return { late: true, at_risk: false, days_late: past };
    const from = c.stage ? stages.indexOf(c.stage) : -1;
    const remaining = c.status === 'pending' || from < 0 ? stages : stages.slice(from);
    const needed = remaining.reduce((sum, s) => sum + (this.stageDays[s] ?? 0), 0);
    // Counted only as far as the answer needs (a due date can be months away).
    return { late: false, at_risk: needed > this.workingDaysLeft(target, needed), days_late: 0 };
  }

  /**
   * Where an at-risk case can be: `[from, until)` on its ship-by (its due
   * date without one), or null when no case can be at risk (the stages need
   * no day at all). A bound for a database prefilter, never a second copy of
   * the rule: `timing` decides. It holds because a case that is not late
   * has its date on or after today, needs at most every stage's days (N),
   * and the working days left only grow with the date: from the N-th working
   * day on (today counted when it is one), N are left. In calendar days the
   * window is as long as the calendar makes it (closures and weekends
   * included), computed by the same business-day arithmetic.
   */
  atRiskWindow(stages: readonly string[]): { from: string; until: string } | null {
    const most = stages.reduce((sum, s) => sum + Math.max(0, this.stageDays[s] ?? 0), 0);
    if (most <= 0) return null;
    return { from: this.today, until: addWorkingDays(this.calendar, this.today, most - 1) };
  }
}
