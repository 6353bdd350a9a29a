import Holidays from 'date-holidays';

/**
 * Business-day arithmetic of a lab, in one place. Dates are civil dates
 * (`YYYY-MM-DD`) in the lab's time zone: a working day is a date, not a span
 * of instants, so daylight-saving changes only matter where an instant is
 * turned into a date (`receiptDay`), which reads the lab's wall clock.
 */

/** ISO weekday: 1 = Monday … 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;
export const WEEKDAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekdayName = (typeof WEEKDAY_NAMES)[number];

export interface WorkCalendar {
  /** IANA time zone of the lab. */
  timeZone: string;
  workingDays: ReadonlySet<IsoWeekday>;
  /** Dates the lab is closed on (its own closures). */
  closures: ReadonlySet<string>;
  /** Public holidays of a country (and region), resolved per year; none when absent. */
  holidays?: HolidayRegion;
  /** Minutes after local midnight; a case received after it counts from the next working day. */
  cutoffMinutes: number;
}

export interface HolidayRegion {
  country: string;
  region?: string;
}

const DAY_MS = 86_400_000;
/** No calendar may need more than this many days to find its next working day (validation keeps closures far below). */
const MAX_SCAN_DAYS = 3_700;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `value` is a real calendar date written `YYYY-MM-DD` (2027-02-29 is not). */
export function isCivilDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && toCivil(dayNumber(d)) === value;
}

function dayNumber(d: Date): number {
  return Math.floor(d.getTime() / DAY_MS);
}

/** Days since 1970-01-01 of a civil date. */
export function toDayNumber(date: string): number {
  const m = DATE.exec(date);
  if (!m) throw new RangeError('not a YYYY-MM-DD date');
  return Math.floor(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS);
}

export function toCivil(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(date: string, n: number): string {
  return toCivil(toDayNumber(date) + n);
}

export function isoWeekday(date: string): IsoWeekday {
  // 1970-01-01 was a Thursday (4).
  return (((((toDayNumber(date) + 3) % 7) + 7) % 7) + 1) as IsoWeekday;
}

const holidayCache = new Map<string, ReadonlySet<string>>();

/** The public holidays (dates) of a region in a year, from date-holidays; cached. */
export function publicHolidays(region: HolidayRegion, year: number): ReadonlySet<string> {
  const key = `${region.country}|${region.region ?? ''}|${year}`;
  let found = holidayCache.get(key);
  if (!found) {
    const hd = region.region
      ? new Holidays(region.country, region.region)
      : new Holidays(region.country);
    found = new Set(
      (hd.getHolidays(year) || [])
        .filter((h) => h.type === 'public')
        .map((h) => h.date.slice(0, 10)),
    );
    holidayCache.set(key, found);
  }
  return found;
}

/** Whether date-holidays knows the country (and the region within it). */
export function isKnownHolidayRegion(region: HolidayRegion): boolean {
  const hd = new Holidays();
  const countries = hd.getCountries() as Record<string, string> | undefined;
  if (!countries?.[region.country]) return false;
  if (region.region === undefined) return true;
  const states = hd.getStates(region.country) as Record<string, string> | undefined;
  return Boolean(states?.[region.region]);
}

/** Whether the lab works on `date`: a working weekday, not a closure, not a public holiday. */
export function isWorkingDay(cal: WorkCalendar, date: string): boolean {
  if (!cal.workingDays.has(isoWeekday(date))) return false;
  if (cal.closures.has(date)) return false;
  if (cal.holidays && publicHolidays(cal.holidays, Number(date.slice(0, 4))).has(date))
    return false;
  return true;
}

function step(cal: WorkCalendar, date: string, direction: 1 | -1): string {
  let d = toDayNumber(date);
  for (let i = 0; i < MAX_SCAN_DAYS; i++) {
    d += direction;
    const civil = toCivil(d);
    if (isWorkingDay(cal, civil)) return civil;
  }
  throw new RangeError('the calendar has no working day within ten years');
}

/** The first working day on or after `date`. */
export function nextWorkingDay(cal: WorkCalendar, date: string): string {
  return isWorkingDay(cal, date) ? date : step(cal, date, 1);
}

/** The last working day on or before `date`. */
export function previousWorkingDay(cal: WorkCalendar, date: string): string {
  return isWorkingDay(cal, date) ? date : step(cal, date, -1);
}

/**
 * The working day `n` working days after `date` (n ≥ 0): the day `w` for
 * which `workingDaysBetween(date, w) === n`. `date` itself is moved to the
 * next working day first, so the result is always a working day.
 */
export function addWorkingDays(cal: WorkCalendar, date: string, n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a whole number ≥ 0');
  let d = nextWorkingDay(cal, date);
  for (let i = 0; i < n; i++) d = step(cal, d, 1);
  return d;
}

/**
 * The latest working day `w` before `date` with exactly `n` working days in
 * (w, date] — for n = 0, the last working day on or before `date`. A ship-by
 * date is `subtractWorkingDays(due, transit)`.
 */
export function subtractWorkingDays(cal: WorkCalendar, date: string, n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a whole number ≥ 0');
  if (n === 0) return previousWorkingDay(cal, date);
  let counted = 0;
  let day = toDayNumber(date);
  for (let i = 0; i < MAX_SCAN_DAYS * Math.max(1, n); i++, day--) {
    const civil = toCivil(day);
    if (isWorkingDay(cal, civil) && ++counted === n) return step(cal, civil, -1);
  }
  throw new RangeError('the calendar has no working day within ten years');
}

/**
 * The number of working days in (from, to]; negative when `to` is before `from`.
 * `atMost`: stop counting there (the answer is then min(count, atMost)) — a
 * question like "are there more than n?" need not walk to a due date months away.
 */
export function workingDaysBetween(
  cal: WorkCalendar,
  from: string,
  to: string,
  atMost = Infinity,
): number {
  const a = toDayNumber(from);
  const b = toDayNumber(to);
  if (b < a) return 0 - workingDaysBetween(cal, to, from); // (never -0)
  let count = 0;
  for (let d = a + 1; d <= b && count < atMost; d++) if (isWorkingDay(cal, toCivil(d))) count++;
  return count;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The last minute each zone was asked about: its start (ms since the epoch),
 * the local date and the local seconds at that start. Every read asks for
 * "today" (a timing flag), and Intl's formatting was ~2 % of a get's CPU.
 */
const lastMinute = new Map<string, { start: number; date: string; seconds: number }>();

/** The lab's wall clock at `instant`: its civil date and the seconds since local midnight. */
export function localTime(timeZone: string, instant: Date): { date: string; seconds: number } {
  const ms = instant.getTime();
  const known = lastMinute.get(timeZone);
  if (known && ms >= known.start && ms < known.start + 60_000) {
    return { date: known.date, seconds: known.seconds + Math.floor((ms - known.start) / 1000) };
  }
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const start = ms - (((ms % 60_000) + 60_000) % 60_000);
  const atStart = wallClock(f, new Date(start));
  // A zone whose offset is whole minutes (every zone today; not some historical local mean
  // times) changes its date and its offset only at a UTC minute's start: the minute is remembered.
  if (atStart.seconds % 60 !== 0) return wallClock(f, instant);
  if (lastMinute.size >= 1_000) lastMinute.clear();
  lastMinute.set(timeZone, { start, ...atStart });
  return { date: atStart.date, seconds: atStart.seconds + Math.floor((ms - start) / 1000) };
}

function wallClock(f: Intl.DateTimeFormat, instant: Date): { date: string; seconds: number } {
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    seconds: Number(p.hour) * 3600 + Number(p.minute) * 60 + Number(p.second),
  };
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(timeZone)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The working day a case received at `instant` counts from: the day of
 * receipt when it is a working day and the case arrived at or before the
 * cut-off, else the next working day.
 */
export function receiptDay(cal: WorkCalendar, instant: Date): string {
  const local = localTime(cal.timeZone, instant);
  const late = local.seconds > cal.cutoffMinutes * 60;
  if (!late && isWorkingDay(cal, local.date)) return local.date;
  return step(cal, local.date, 1);
}
