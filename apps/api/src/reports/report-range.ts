import { queryReader } from '../common/http/query-params';
import type { ReportLabel } from '../metrics';
import { addDays, isCivilDate, isoWeekday, toDayNumber } from '../schedule';

/** The reports, by their path name. */
export const REPORT_NAMES = [
  'wip-by-stage',
  'due-calendar',
  'on-time',
  'remakes',
  'throughput',
] as const satisfies readonly ReportLabel[];
export type ReportName = (typeof REPORT_NAMES)[number];

/** A range may span at most two years (731 days: two years with a leap day). */
export const MAX_RANGE_DAYS = 731;
/** The default range of the period reports: the last 12 ISO weeks, this one included, up to today. */
export const DEFAULT_WEEKS = 12;
/** The due calendar: the next `days` working days (default 10, at most 60). */
export const DUE_DAYS_DEFAULT = 10;
export const DUE_DAYS_MAX = 60;

/** The dates a report covers, in the lab's time zone (`to` inclusive). */
export interface ReportRange {
  from: string;
  to: string;
}

export type ParsedReportQuery =
  /** wip-by-stage: a snapshot of now; no range. */
  | { kind: 'snapshot' }
  /** due-calendar: from a date (default today), the next `days` working days. */
  | { kind: 'working-days'; from: string; days: number }
  /** on-time, remakes, throughput: a date range. */
  | { kind: 'range'; from: string; to: string };

const POSITIVE = /^[1-9][0-9]{0,5}$/;

/**
 * The query of a report, checked before any SQL runs: dates are real
 * `YYYY-MM-DD` dates of the lab's calendar (its time zone decides "today"),
 * the range is not reversed and spans at most two years, `days` is 1 to 60,
 * and a parameter the report does not take is refused rather than ignored
 * (a `from` on a snapshot would suggest a history it does not have).
 * Returns the errors (field → problem, never the value) or the query.
 */
export function parseReportQuery(
  report: ReportName,
  q: Record<string, unknown>,
  today: string,
): { ok: ParsedReportQuery } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const { one } = queryReader(q, errors);
  const takes =
    report === 'wip-by-stage' ? [] : report === 'due-calendar' ? ['from', 'days'] : ['from', 'to'];
  for (const name of ['from', 'to', 'days']) {
    if (q[name] !== undefined && !takes.includes(name)) {
      errors[name] = `is not a parameter of the ${report} report`;
    }
  }
  const date = (name: 'from' | 'to'): string | undefined => {
    if (!takes.includes(name)) return undefined;
    const v = one(name);
    if (v === undefined) return undefined;
    if (!isCivilDate(v)) {
      errors[name] = 'is not a YYYY-MM-DD date';
      return undefined;
    }
    return v;
  };
  const from = date('from');
  const to = date('to');
  let days = DUE_DAYS_DEFAULT;
  if (takes.includes('days')) {
    const v = one('days');
    if (v !== undefined) {
      if (!POSITIVE.test(v) || Number(v) > DUE_DAYS_MAX) {
        errors.days = `must be a whole number from 1 to ${DUE_DAYS_MAX}`;
      } else days = Number(v);
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  if (report === 'wip-by-stage') return { ok: { kind: 'snapshot' } };
  if (report === 'due-calendar') return { ok: { kind: 'working-days', from: from ?? today, days } };

  const end =
    to ?? (from ? maxDate(from, minDate(addDays(from, DEFAULT_WEEKS * 7 - 1), today)) : today);
  const start = from ?? addDays(mondayOf(end), -(DEFAULT_WEEKS - 1) * 7);
  if (end < start) return { errors: { to: 'is before from' } };
  if (toDayNumber(end) - toDayNumber(start) + 1 > MAX_RANGE_DAYS) {
    return { errors: { to: `is more than two years (${MAX_RANGE_DAYS} days) after from` } };
  }
  return { ok: { kind: 'range', from: start, to: end } };
}

function minDate(a: string, b: string): string {
  return a < b ? a : b;
}

function maxDate(a: string, b: string): string {
  return a > b ? a : b;
}

/** The ISO week of a date as PostgreSQL's `to_char(d, 'IYYY-"W"IW')` writes it (`2026-W49`). */
export function isoWeekKey(date: string): string {
  const thursday = addDays(date, 4 - isoWeekday(date));
  const year = thursday.slice(0, 4);
  const week = Math.floor((toDayNumber(thursday) - toDayNumber(`${year}-01-01`)) / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The ISO weeks a range touches, in order. */
export function isoWeeksOf(range: ReportRange): string[] {
  const weeks: string[] = [];
  for (let d = mondayOf(range.from); d <= range.to; d = addDays(d, 7)) weeks.push(isoWeekKey(d));
  return weeks;
}

/** The Monday of the ISO week of `date`. */
export function mondayOf(date: string): string {
  return addDays(date, 1 - isoWeekday(date));
}

/** The media types a report is served in, in order of preference. */
export const REPORT_MEDIA_TYPES = ['application/json', 'text/csv'] as const;
export type ReportMediaType = (typeof REPORT_MEDIA_TYPES)[number];

/**
 * Content negotiation on `Accept` (RFC 9110 §12.5.1): the acceptable type of
 * highest q, JSON on a tie; no header, or `*\/*`, is JSON. null when neither
 * JSON nor CSV is acceptable (→ 406).
 */
export function negotiate(accept: string | undefined): ReportMediaType | null {
  if (accept === undefined || accept.trim() === '') return 'application/json';
  let best: { type: ReportMediaType; q: number; specificity: number } | null = null;
  const quality = new Map<ReportMediaType, { q: number; specificity: number }>();
  for (const part of accept.split(',').slice(0, 50)) {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q') q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v ?? '') ? Number(v) : 0;
    }
    for (const type of REPORT_MEDIA_TYPES) {
      const [major] = type.split('/');
      const specificity = range === type ? 3 : range === `${major}/*` ? 2 : range === '*/*' ? 1 : 0;
      if (specificity === 0) continue;
      const seen = quality.get(type);
      // The most specific range that matches a type gives its q (RFC 9110).
      if (!seen || specificity > seen.specificity) quality.set(type, { q, specificity });
    }
  }
  for (const type of REPORT_MEDIA_TYPES) {
    const found = quality.get(type);
    if (!found || found.q <= 0) continue;
    if (!best || found.q > best.q) best = { type, ...found };
  }
  return best?.type ?? null;
}
