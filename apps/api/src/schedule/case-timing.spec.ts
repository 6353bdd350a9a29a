import fc from 'fast-check';
import { addDays, type IsoWeekday, toCivil, toDayNumber, type WorkCalendar } from './business-days';
import { ON_TIME, ScheduleClock } from './case-timing';

const weekdays: WorkCalendar = {
  timeZone: 'UTC',
  workingDays: new Set<IsoWeekday>([1, 2, 3, 4, 5]),
  closures: new Set(),
  cutoffMinutes: 17 * 60,
};
const STAGES = [
  'received',
  'design',
  'manufacturing',
  'qc',
  'ready_to_ship',
  'shipped',
  'delivered',
];
const DAYS = { received: 0, design: 1, manufacturing: 2, qc: 1, ready_to_ship: 0 };
// A fixed clock: Wednesday 2026-12-09.
const clock = new ScheduleClock(weekdays, DAYS, '2026-12-09');
const open = (over: Partial<Parameters<ScheduleClock['timing']>[0]> = {}) => ({
  status: 'in_progress',
  stage: 'design',
  due_date: '2026-12-14',
  ship_by: '2026-12-11',
  ...over,
});

describe('case timing flags (fixed clock)', () => {
  it('is on time with enough working days left', () => {
    // design + manufacturing + qc = 4 days; Wed, Thu, Fri up to Friday's ship-by = 3: at risk.
    expect(clock.timing(open(), STAGES)).toEqual({ late: false, at_risk: true, days_late: 0 });
    // From qc on, 1 day is needed and 3 are left.
    expect(clock.timing(open({ stage: 'qc' }), STAGES)).toEqual(ON_TIME);
    // Ship-by next Tuesday leaves Wed–Fri and Mon–Tue = 5 ≥ 4.
    expect(clock.timing(open({ ship_by: '2026-12-15' }), STAGES)).toEqual(ON_TIME);
  });

  it('counts every stage before production starts, and the current one included', () => {
    // pending: 0 + 1 + 2 + 1 + 0 = 4 > 3 left.
    expect(clock.timing(open({ status: 'pending', stage: null }), STAGES).at_risk).toBe(true);
    expect(
      clock.timing(open({ status: 'pending', stage: null, ship_by: '2026-12-14' }), STAGES).at_risk,
    ).toBe(false); // Wed, Thu, Fri, Mon = 4
  });

  it('is late the day after ship-by, counting calendar days; on hold pauses nothing', () => {
    expect(clock.timing(open({ ship_by: '2026-12-08' }), STAGES)).toEqual({
      late: true,
      at_risk: false,
      days_late: 1,
    });
    // Ship-by today is not late yet.
    expect(clock.timing(open({ ship_by: '2026-12-09', stage: 'ready_to_ship' }), STAGES)).toEqual(
      ON_TIME,
    );
    expect(clock.timing(open({ status: 'on_hold', ship_by: '2026-12-01' }), STAGES).days_late).toBe(
      8,
    );
    // Without ship-by, the due date decides.
    expect(clock.timing(open({ ship_by: null, due_date: '2026-12-07' }), STAGES).late).toBe(true);
  });

  it('is never late or at risk once finished, shipped, or without dates', () => {
    for (const c of [
      open({ status: 'completed', ship_by: '2026-01-01' }),
      open({ status: 'cancelled', ship_by: '2026-01-01' }),
      open({ stage: 'shipped', ship_by: '2026-01-01' }),
      open({ stage: 'delivered', ship_by: '2026-01-01' }),
      open({ ship_by: null, due_date: null }),
    ]) {
      expect(clock.timing(c, STAGES)).toEqual(ON_TIME);
    }
  });
});

describe('the at-risk window (a prefilter bound for the queue filter)', () => {
  it('ends at the working day that leaves every stage its days (hand-computed)', () => {
    // All stages need 0 + 1 + 2 + 1 + 0 = 4 working days; from Wed 2026-12-09:
    // Wed, Thu, Fri, Mon → Mon 2026-12-14 leaves 4: at risk only before it.
    expect(clock.atRiskWindow(STAGES)).toEqual({ from: '2026-12-09', until: '2026-12-14' });
    const pending = open({ status: 'pending', stage: null });
    expect(clock.timing({ ...pending, ship_by: '2026-12-11' }, STAGES).at_risk).toBe(true);
    expect(clock.timing({ ...pending, ship_by: '2026-12-14' }, STAGES).at_risk).toBe(false);
    // A closure on Monday pushes it to Tuesday; a Saturday today starts counting on Monday.
    const closed = new ScheduleClock(
      { ...weekdays, closures: new Set(['2026-12-14']) },
      DAYS,
      '2026-12-09',
    );
    expect(closed.atRiskWindow(STAGES)?.until).toBe('2026-12-15');
    const saturday = new ScheduleClock(weekdays, DAYS, '2026-12-12');
    expect(saturday.atRiskWindow(STAGES)).toEqual({ from: '2026-12-12', until: '2026-12-17' });
  });

  it('is empty when the stages need no day at all', () => {
    expect(new ScheduleClock(weekdays, {}, '2026-12-09').atRiskWindow(STAGES)).toBeNull();
    expect(new ScheduleClock(weekdays, DAYS, '2026-12-09').atRiskWindow([])).toBeNull();
  });

  it('holds every at-risk case, whatever the calendar, stage days and case (property)', () => {
    const FROM = toDayNumber('2026-01-01');
    const day = fc.integer({ min: FROM, max: FROM + 400 }).map(toCivil);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
        fc.array(day, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 5, maxLength: 5 }),
        day,
        fc.integer({ min: -5, max: 40 }),
        fc.constantFrom('pending', 'in_progress', 'on_hold', 'completed'),
        fc.constantFrom(null, ...STAGES),
        fc.boolean(),
        (working, closures, days, today, offset, status, stage, withShipBy) => {
          const cal: WorkCalendar = {
            timeZone: 'UTC',
            workingDays: new Set(working as IsoWeekday[]),
            closures: new Set(closures),
            cutoffMinutes: 17 * 60,
          };
          const stageDays = Object.fromEntries(STAGES.slice(0, 5).map((s, i) => [s, days[i]]));
          const c = new ScheduleClock(cal, stageDays, today);
          const target = addDays(today, offset);
          const kase = {
            status,
            stage,
            due_date: withShipBy ? addDays(target, 2) : target,
            ship_by: withShipBy ? target : null,
          };
          if (!c.timing(kase, STAGES).at_risk) return;
          const w = c.atRiskWindow(STAGES);
          expect(w).not.toBeNull();
          expect(target >= w!.from && target < w!.until).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
