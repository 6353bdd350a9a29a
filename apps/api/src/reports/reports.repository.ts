import { Injectable } from '@nestjs/common';
import { type Db, rows } from '@lhcms/database';
import { GONE_STAGES, lateSql, OPEN_CASE_SQL } from '../schedule';
import type { ReportRange } from './report-range';

/**
 * The SQL of the reports: aggregates only — counts grouped by codes, dates
 * and weeks, never a case's content (no patient, name, note or free text).
 * Every statement is parameterised, scoped by `lab_id` and run in the
 * caller's lab (TenantDb, row-level security); live cases only. Dates are
 * the lab's: a timestamp becomes a date in its time zone (`$tz`), and a range
 * of dates becomes the instants from `from` 00:00 to `to` + 1 day 00:00 there,
 * so the indexes on the timestamps serve it.
 */

/** The instants of a range of the lab's dates, as SQL on parameters `$from`, `$to`, `$tz`. */
const IN_RANGE = (col: string, from: string, to: string, tz: string) =>
  `${col} >= (${from}::date)::timestamp AT TIME ZONE ${tz}
   AND ${col} < (${to}::date + 1)::timestamp AT TIME ZONE ${tz}`;

const WEEK = (date: string) => `to_char(${date}, 'IYYY-"W"IW')`;

const gone = GONE_STAGES.map((s) => `'${s}'`).join(', ');

/**
 * When each live case first left the lab, as the lab's date: its first move
 * to a stage after which the work is gone (shipped, delivered) or to
 * `completed`, from the timeline (case_events). A reopened and completed
 * again case keeps its first date. Only events up to the end of the range
 * are read (`$to`); the caller filters the dates.
 */
const SHIPPED = (lab: string, to: string, tz: string) => `
  SELECT e.case_id, (min(e.occurred_at) AT TIME ZONE ${tz})::date AS shipped_on
  FROM case_events e
  WHERE e.lab_id = ${lab}
    AND (e.to_stage IN (${gone}) OR e.to_status = 'completed')
    AND e.occurred_at < (${to}::date + 1)::timestamp AT TIME ZONE ${tz}
  GROUP BY e.case_id`;

export interface WipRow {
  status: string;
  stage: string | null;
  cases: number;
  late: number;
}

export interface DueDayRow {
  date: string;
  due: number;
  ship_by: number;
}

export interface OnTimeRow {
  breakdown: 'total' | 'week' | 'case_type';
  key: string | null;
  shipped: number;
  on_time: number;
  late: number;
  no_date: number;
}

export interface RemakeRow {
  breakdown: 'total' | 'reason' | 'responsibility';
  key: string | null;
  cases: number;
  remakes: number;
  chargeable: number;
}

export interface ThroughputRow {
  week: string;
  received: number;
  shipped: number;
}

@Injectable()
export class ReportsRepository {
  async viewerAccess(
    em: Db,
    labId: string,
  ): Promise<{ viewer_access: boolean; updated_at: string | null }> {
    const found = await rows<{ viewer_access: boolean; updated_at: string }>(
      em,
      `SELECT viewer_access,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
       FROM lab_report_settings WHERE lab_id = $1`,
      [labId],
    );
    return found[0] ?? { viewer_access: true, updated_at: null };
  }

  async saveViewerAccess(em: Db, labId: string, viewerAccess: boolean, userId: string) {
    await rows(
      em,
      `INSERT INTO lab_report_settings (lab_id, viewer_access, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (lab_id) DO UPDATE SET viewer_access = EXCLUDED.viewer_access,
         updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [labId, viewerAccess, userId],
    );
  }

  /** Open cases per status and stage, with how many of them are late today. */
  wipByStage(em: Db, labId: string, today: string): Promise<WipRow[]> {
    return rows<WipRow>(
      em,
      `SELECT status, stage, count(*)::int AS cases, count(*) FILTER (WHERE ${lateSql('$2')})::int AS late
       FROM cases
       WHERE lab_id = $1 AND deleted_at IS NULL AND ${OPEN_CASE_SQL}
       GROUP BY status, stage
       ORDER BY array_position(ARRAY['pending', 'in_progress', 'on_hold']::varchar[], status), stage NULLS FIRST`,
      [labId, today],
    );
  }

  /**
   * Open cases due (and to ship) per bucket: bucket i runs from `starts[i]`
   * up to (not including) `ends[i]` — a working day and the calendar days
   * until the next one, so a date on a closed day counts on the working day
   * before it. (OPEN_CASE_SQL names `status` and `stage` unqualified: only
   * `cases` has them here.)
   */
  dueCalendar(em: Db, labId: string, starts: string[], ends: string[]): Promise<DueDayRow[]> {
    return rows<DueDayRow>(
      em,
      `SELECT b.day::text AS date,
              count(c.id) FILTER (WHERE c.due_date >= b.day AND c.due_date < b.next)::int AS due,
              count(c.id) FILTER (WHERE c.ship_by >= b.day AND c.ship_by < b.next)::int AS ship_by
       FROM unnest($2::date[], $3::date[]) AS b(day, next)
       LEFT JOIN cases c
         ON c.lab_id = $1 AND c.deleted_at IS NULL AND ${OPEN_CASE_SQL}
        AND ((c.due_date >= b.day AND c.due_date < b.next) OR (c.ship_by >= b.day AND c.ship_by < b.next))
       GROUP BY b.day ORDER BY b.day`,
      [labId, starts, ends],
    );
  }

  /** Open cases whose due date (ship-by date) is before `from`. */
  async overdue(em: Db, labId: string, from: string): Promise<{ due: number; ship_by: number }> {
    const [r] = await rows<{ due: number; ship_by: number }>(
      em,
      `SELECT count(*) FILTER (WHERE due_date < $2::date)::int AS due,
              count(*) FILTER (WHERE ship_by < $2::date)::int AS ship_by
       FROM cases
       WHERE lab_id = $1 AND deleted_at IS NULL AND ${OPEN_CASE_SQL}
         AND (due_date < $2::date OR ship_by < $2::date)`,
      [labId, from],
    );
    return r;
  }

  /**
   * Cases shipped in the range, on time or late against their ship-by date
   * (the due date without one; neither: `no_date`), in total, per ISO week
   * of the ship date and per case type.
   */
  onTime(em: Db, labId: string, tz: string, range: ReportRange): Promise<OnTimeRow[]> {
    return rows<OnTimeRow>(
      em,
      `WITH s AS (
         SELECT c.case_type, coalesce(c.ship_by, c.due_date) AS target, sh.shipped_on,
                ${WEEK('sh.shipped_on')} AS week
         FROM (${SHIPPED('$1', '$4', '$2')}) sh
         JOIN cases c ON c.id = sh.case_id AND c.lab_id = $1 AND c.deleted_at IS NULL
         WHERE sh.shipped_on BETWEEN $3::date AND $4::date
       )
       SELECT CASE WHEN GROUPING(week) = 0 THEN 'week'
                   WHEN GROUPING(case_type) = 0 THEN 'case_type' ELSE 'total' END AS breakdown,
              coalesce(week, case_type) AS key,
              count(*)::int AS shipped,
              count(*) FILTER (WHERE shipped_on <= target)::int AS on_time,
              count(*) FILTER (WHERE shipped_on > target)::int AS late,
              count(*) FILTER (WHERE target IS NULL)::int AS no_date
       FROM s
       GROUP BY GROUPING SETS ((), (week), (case_type))
       ORDER BY 1, 2`,
      [labId, tz, range.from, range.to],
    );
  }

  /**
   * Cases received in the range and the remakes among them, in total, per
   * reason code and per responsibility (chargeable ones counted apart). A
   * remake is a case with a reason: the retention purge of its original
   * clears `remake_of` but leaves the reason (migration CaseRemakes).
   */
  remakes(em: Db, labId: string, tz: string, range: ReportRange): Promise<RemakeRow[]> {
    return rows<RemakeRow>(
      em,
      `SELECT CASE WHEN GROUPING(remake_reason) = 0 THEN 'reason'
                   WHEN GROUPING(remake_responsibility) = 0 THEN 'responsibility' ELSE 'total' END AS breakdown,
              coalesce(remake_reason, remake_responsibility) AS key,
              count(*)::int AS cases,
              count(*) FILTER (WHERE remake_reason IS NOT NULL)::int AS remakes,
              count(*) FILTER (WHERE remake_reason IS NOT NULL AND remake_chargeable)::int AS chargeable
       FROM cases
       WHERE lab_id = $1 AND deleted_at IS NULL AND ${IN_RANGE('created_at', '$3', '$4', '$2')}
       GROUP BY GROUPING SETS ((), (remake_reason), (remake_responsibility))
       ORDER BY 1, 2`,
      [labId, tz, range.from, range.to],
    );
  }

  /** Cases received and shipped per ISO week of the range (weeks without any are absent). */
  throughput(em: Db, labId: string, tz: string, range: ReportRange): Promise<ThroughputRow[]> {
    return rows<ThroughputRow>(
      em,
      `WITH received AS (
         SELECT ${WEEK(`(created_at AT TIME ZONE $2)::date`)} AS week, count(*)::int AS n
         FROM cases
         WHERE lab_id = $1 AND deleted_at IS NULL AND ${IN_RANGE('created_at', '$3', '$4', '$2')}
         GROUP BY 1
       ), shipped AS (
         SELECT ${WEEK('sh.shipped_on')} AS week, count(*)::int AS n
         FROM (${SHIPPED('$1', '$4', '$2')}) sh
         JOIN cases c ON c.id = sh.case_id AND c.lab_id = $1 AND c.deleted_at IS NULL
         WHERE sh.shipped_on BETWEEN $3::date AND $4::date
         GROUP BY 1
       )
       SELECT week, coalesce(r.n, 0) AS received, coalesce(s.n, 0) AS shipped
       FROM received r FULL JOIN shipped s USING (week)
       ORDER BY week`,
      [labId, tz, range.from, range.to],
    );
  }
}
