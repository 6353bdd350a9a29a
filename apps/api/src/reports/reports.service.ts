import { Injectable } from '@nestjs/common';
import { type Db, TenantDb } from '@lhcms/database';
import type { LabRole } from '@lhcms/request-context';
import { ValidationFailedError } from '../common/errors/domain-error';
import {
  addDays,
  addWorkingDays,
  LabSchedule,
  nextWorkingDay,
  type WorkCalendar,
} from '../schedule';
import { AuthError, labAllows, Permission } from '../ums-gateway';
import type { CsvTable } from './report-csv';
import {
  isoWeeksOf,
  negotiate,
  parseReportQuery,
  type ParsedReportQuery,
  type ReportMediaType,
  type ReportName,
  type ReportRange,
} from './report-range';
import { ReportsError } from './reports.errors';
import { type OnTimeRow, ReportsRepository } from './reports.repository';

export interface ReportCaller {
  labId: string;
  userId: string;
  role: LabRole;
}

/** A report as computed: its JSON body, the same figures as one CSV table, and its range. */
export interface ComputedReport {
  json: Record<string, unknown>;
  csv: CsvTable;
  format: ReportMediaType;
  /** The dates covered (for the file name and the audit row); a snapshot: today. */
  from: string;
  to: string;
}

export interface ReportSettings {
  viewer_access: boolean;
  customised: boolean;
  updated_at: string | null;
}

/** A share with four decimals; null without a denominator. */
const rate = (n: number, of: number): number | null =>
  of > 0 ? Math.round((n / of) * 10_000) / 10_000 : null;

/**
 * The lab's reports. In order: the caller's access (a viewer only while the
 * lab lets viewers read reports: 403), the media type (406), the query
 * (400), then the SQL — all in one read-only transaction of the lab.
 */
@Injectable()
export class ReportsService {
  constructor(
    private readonly db: TenantDb,
    private readonly schedule: LabSchedule,
    private readonly repo: ReportsRepository,
  ) {}

  async settings(labId: string): Promise<ReportSettings> {
    const s = await this.db.read(labId, (em) => this.repo.viewerAccess(em, labId));
    return {
      viewer_access: s.viewer_access,
      customised: s.updated_at !== null,
      updated_at: s.updated_at,
    };
  }

  async saveSettings(
    labId: string,
    userId: string,
    viewerAccess: boolean,
  ): Promise<ReportSettings> {
    await this.db.withLab(labId, (em) =>
      this.repo.saveViewerAccess(em, labId, viewerAccess, userId),
    );
    return this.settings(labId);
  }

  async run(
    report: ReportName,
    caller: ReportCaller,
    query: Record<string, unknown>,
    accept: string | undefined,
    now = new Date(),
  ): Promise<ComputedReport> {
    const { calendar, today } = await this.schedule.workCalendarNow(caller.labId, now);
    return this.db.read(caller.labId, async (em) => {
      const { viewer_access } = await this.repo.viewerAccess(em, caller.labId);
      if (!labAllows(caller.role, Permission.ReportRead, !viewer_access)) {
        throw AuthError.missingPermission(Permission.ReportRead);
      }
      const format = negotiate(accept);
      if (format === null) throw ReportsError.notAcceptable();
      const parsed = parseReportQuery(report, query, today);
      if ('errors' in parsed) throw new ValidationFailedError(parsed.errors);
      const computed = await this.compute(em, report, caller.labId, calendar, today, parsed.ok);
      return { ...computed, format };
    });
  }

  private async compute(
    em: Db,
    report: ReportName,
    labId: string,
    calendar: WorkCalendar,
    today: string,
    q: ParsedReportQuery,
  ): Promise<Omit<ComputedReport, 'format'>> {
    const tz = calendar.timeZone;
    const head = { report, time_zone: tz };
    if (q.kind === 'snapshot') {
      const rows = await this.repo.wipByStage(em, labId, today);
      const total = rows.reduce((t, r) => ({ cases: t.cases + r.cases, late: t.late + r.late }), {
        cases: 0,
        late: 0,
      });
      return {
        json: { ...head, as_of: today, total, rows },
        csv: {
          columns: ['status', 'stage', 'cases', 'late'],
          rows: rows.map((r) => [r.status, r.stage, r.cases, r.late]),
        },
        from: today,
        to: today,
      };
    }
    if (q.kind === 'working-days') {
      // N working days from `from` (on or after it); bucket i ends where the next working day starts.
      const days: string[] = [nextWorkingDay(calendar, q.from)];
      for (let i = 1; i <= q.days; i++) days.push(addWorkingDays(calendar, days[i - 1], 1));
      const starts = [q.from, ...days.slice(1, q.days)];
      const ends = days.slice(1, q.days + 1);
      const [buckets, overdue] = await Promise.all([
        this.repo.dueCalendar(em, labId, starts, ends),
        this.repo.overdue(em, labId, q.from),
      ]);
      const rows = buckets.map((b, i) => ({ ...b, date: days[i] }));
      const to = addDays(ends[ends.length - 1], -1);
      return {
        json: { ...head, from: q.from, to, days: q.days, overdue, rows },
        csv: {
          columns: ['date', 'due', 'ship_by'],
          rows: [
            [`before ${q.from}`, overdue.due, overdue.ship_by],
            ...rows.map((r) => [r.date, r.due, r.ship_by]),
          ],
        },
        from: q.from,
        to,
      };
    }
    const range: ReportRange = { from: q.from, to: q.to };
    const dated = { ...head, from: range.from, to: range.to };
    if (report === 'on-time') {
      const rows = await this.repo.onTime(em, labId, tz, range);
      const figures = (r: OnTimeRow | undefined) => {
        const f = r ?? { shipped: 0, on_time: 0, late: 0, no_date: 0 };
        return {
          shipped: f.shipped,
          on_time: f.on_time,
          late: f.late,
          no_date: f.no_date,
          on_time_rate: rate(f.on_time, f.on_time + f.late),
        };
      };
      const of = (b: OnTimeRow['breakdown']) => rows.filter((r) => r.breakdown === b);
      const weeks = of('week');
      const byWeek = isoWeeksOf(range).map((week) => ({
        week,
        ...figures(weeks.find((r) => r.key === week)),
      }));
      const byType = of('case_type').map((r) => ({ case_type: r.key, ...figures(r) }));
      const total = figures(of('total')[0]);
      const line = (breakdown: string, key: string | null, f: ReturnType<typeof figures>) =>
        [breakdown, key, f.shipped, f.on_time, f.late, f.no_date, f.on_time_rate] as const;
      return {
        json: { ...dated, total, by_week: byWeek, by_case_type: byType },
        csv: {
          columns: ['breakdown', 'key', 'shipped', 'on_time', 'late', 'no_date', 'on_time_rate'],
          rows: [
            line('total', null, total),
            ...byWeek.map((r) => line('week', r.week, r)),
            ...byType.map((r) => line('case_type', r.case_type, r)),
          ],
        },
        ...range,
      };
    }
    if (report === 'remakes') {
      const rows = await this.repo.remakes(em, labId, tz, range);
      const total = rows.find((r) => r.breakdown === 'total');
      const cases = total?.cases ?? 0;
      const group = (b: 'reason' | 'responsibility') =>
        rows
          .filter((r) => r.breakdown === b && r.key !== null)
          .map((r) => ({
            [b]: r.key,
            remakes: r.remakes,
            chargeable: r.chargeable,
            remake_rate: rate(r.remakes, cases),
          }));
      const byReason = group('reason');
      const byResponsibility = group('responsibility');
      const sum = {
        cases,
        remakes: total?.remakes ?? 0,
        chargeable: total?.chargeable ?? 0,
        remake_rate: rate(total?.remakes ?? 0, cases),
      };
      return {
        json: { ...dated, total: sum, by_reason: byReason, by_responsibility: byResponsibility },
        csv: {
          columns: ['breakdown', 'key', 'cases', 'remakes', 'chargeable', 'remake_rate'],
          rows: [
            ['total', null, cases, sum.remakes, sum.chargeable, sum.remake_rate],
            ...byReason.map((r) => [
              'reason',
              r.reason as string,
              cases,
              r.remakes,
              r.chargeable,
              r.remake_rate,
            ]),
            ...byResponsibility.map((r) => [
              'responsibility',
              r.responsibility as string,
              cases,
              r.remakes,
              r.chargeable,
              r.remake_rate,
            ]),
          ],
        },
        ...range,
      };
    }
    const found = await this.repo.throughput(em, labId, tz, range);
    const rows = isoWeeksOf(range).map((week) => {
      const r = found.find((x) => x.week === week);
      return { week, received: r?.received ?? 0, shipped: r?.shipped ?? 0 };
    });
    const total = rows.reduce(
      (t, r) => ({ received: t.received + r.received, shipped: t.shipped + r.shipped }),
      { received: 0, shipped: 0 },
    );
    return {
      json: { ...dated, total, rows },
      csv: {
        columns: ['week', 'received', 'shipped'],
        rows: rows.map((r) => [r.week, r.received, r.shipped]),
      },
      ...range,
    };
  }
}
