import fc from 'fast-check';
import {
  addDays,
  addWorkingDays,
  isCivilDate,
  isKnownHolidayRegion,
  isKnownTimeZone,
  isWorkingDay,
  localTime,
  nextWorkingDay,
  publicHolidays,
  receiptDay,
  subtractWorkingDays,
  toCivil,
  toDayNumber,
  type IsoWeekday,
  type WorkCalendar,
  workingDaysBetween,
} from './business-days';

const FROM = toDayNumber('2019-01-01');
const TO = toDayNumber('2031-12-31');
const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Australia/Lord_Howe', // a 30-minute DST shift
  'Pacific/Chatham', // UTC+12:45 / +13:45
  'Asia/Kolkata',
  'America/Sao_Paulo',
];
const REGIONS = [undefined, { country: 'US', region: 'CA' }, { country: 'DE' }, { country: 'GB' }];

const date = fc.integer({ min: FROM, max: TO }).map(toCivil);
const calendar: fc.Arbitrary<WorkCalendar> = fc
  .record({
    days: fc.uniqueArray(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 7 }),
    closures: fc.array(date, { maxLength: 60 }),
    zone: fc.constantFrom(...ZONES),
    holidays: fc.constantFrom(...REGIONS),
    cutoff: fc.integer({ min: 0, max: 1439 }),
  })
  .map((r) => ({
    timeZone: r.zone,
    workingDays: new Set(r.days as IsoWeekday[]),
    closures: new Set(r.closures),
    holidays: r.holidays,
    cutoffMinutes: r.cutoff,
  }));

const weekdays = (holidays?: { country: string; region?: string }): WorkCalendar => ({
  timeZone: 'America/New_York',
  workingDays: new Set<IsoWeekday>([1, 2, 3, 4, 5]),
  closures: new Set(),
  holidays,
  cutoffMinutes: 17 * 60,
});

describe('business days (properties)', () => {
  it('adding n working days lands on a working day, and counting back gives n', () => {
    fc.assert(
      fc.property(calendar, date, fc.integer({ min: 0, max: 60 }), (cal, d, n) => {
        const due = addWorkingDays(cal, d, n);
        expect(isWorkingDay(cal, due)).toBe(true);
        expect(cal.closures.has(due)).toBe(false);
        if (cal.holidays) {
          expect(publicHolidays(cal.holidays, Number(due.slice(0, 4))).has(due)).toBe(false);
        }
        expect(workingDaysBetween(cal, nextWorkingDay(cal, d), due)).toBe(n);
        expect(subtractWorkingDays(cal, due, n)).toBe(nextWorkingDay(cal, d));
      }),
      { numRuns: 300 },
    );
  });

  it('subtracting n working days gives the latest working day with n working days up to the date', () => {
    fc.assert(
      fc.property(calendar, date, fc.integer({ min: 0, max: 30 }), (cal, d, n) => {
        const w = subtractWorkingDays(cal, d, n);
        expect(isWorkingDay(cal, w)).toBe(true);
        expect(toDayNumber(w)).toBeLessThanOrEqual(toDayNumber(d));
        expect(workingDaysBetween(cal, w, d)).toBe(n);
        if (n > 0) {
          // The next working day after w leaves one fewer: w is the latest such day.
          const later = addWorkingDays(cal, w, 1);
          expect(workingDaysBetween(cal, later, d)).toBe(n - 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a capped count is the count up to the cap (forwards)', () => {
    fc.assert(
      fc.property(
        calendar,
        date,
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 40 }),
        (cal, a, span, cap) => {
          const b = addDays(a, span);
          expect(workingDaysBetween(cal, a, b, cap)).toBe(
            Math.min(cap, workingDaysBetween(cal, a, b)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counting is antisymmetric and additive', () => {
    fc.assert(
      fc.property(calendar, date, date, date, (cal, a, b, c) => {
        expect(workingDaysBetween(cal, a, b)).toBe(0 - workingDaysBetween(cal, b, a));
        expect(workingDaysBetween(cal, a, b) + workingDaysBetween(cal, b, c)).toBe(
          workingDaysBetween(cal, a, c),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('a case counts from its day of receipt only on a working day at or before the cut-off', () => {
    const instant = fc
      .integer({ min: FROM * 86_400, max: TO * 86_400 })
      .map((s) => new Date(s * 1000));
    fc.assert(
      fc.property(calendar, instant, (cal, at) => {
        const local = localTime(cal.timeZone, at);
        const day = receiptDay(cal, at);
        expect(isWorkingDay(cal, day)).toBe(true);
        const sameDay = isWorkingDay(cal, local.date) && local.seconds <= cal.cutoffMinutes * 60;
        if (sameDay) expect(day).toBe(local.date);
        else {
          expect(toDayNumber(day)).toBeGreaterThan(toDayNumber(local.date));
          expect(workingDaysBetween(cal, local.date, day)).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('business days (edges)', () => {
  it('the cut-off: exactly at it counts today, one second after counts from the next working day', () => {
    const cal = weekdays();
    // Monday 2026-12-07, 17:00 in New York (EST, UTC-5) = 22:00 UTC.
    expect(receiptDay(cal, new Date('2026-12-07T22:00:00Z'))).toBe('2026-12-07');
    expect(receiptDay(cal, new Date('2026-12-07T22:00:01Z'))).toBe('2026-12-08');
    // Friday after the cut-off: Monday.
    expect(receiptDay(cal, new Date('2026-12-11T22:00:01Z'))).toBe('2026-12-14');
    // Saturday morning: Monday.
    expect(receiptDay(cal, new Date('2026-12-12T14:00:00Z'))).toBe('2026-12-14');
  });

  it('reads the wall clock across daylight-saving changes', () => {
    const cal = weekdays();
    // Friday 2026-03-06 is EST (UTC-5): 17:00 = 22:00 UTC.
    expect(receiptDay(cal, new Date('2026-03-06T22:00:00Z'))).toBe('2026-03-06');
    // Monday 2026-03-09 is EDT (UTC-4): 17:00 = 21:00 UTC; 21:30 UTC is already past.
    expect(receiptDay(cal, new Date('2026-03-09T21:00:00Z'))).toBe('2026-03-09');
    expect(receiptDay(cal, new Date('2026-03-09T21:30:00Z'))).toBe('2026-03-10');
    // Monday 2026-11-02, the first day back on EST: 17:00 = 22:00 UTC.
    expect(receiptDay(cal, new Date('2026-11-02T21:30:00Z'))).toBe('2026-11-02');
    expect(receiptDay(cal, new Date('2026-11-02T22:00:01Z'))).toBe('2026-11-03');
    // Late evening UTC is already the next day in Berlin.
    const berlin = { ...cal, timeZone: 'Europe/Berlin' };
    expect(localTime('Europe/Berlin', new Date('2026-12-07T23:30:00Z')).date).toBe('2026-12-08');
    expect(receiptDay(berlin, new Date('2026-12-07T23:30:00Z'))).toBe('2026-12-08');
  });

  it('the wall clock remembered per minute equals what Intl answers for every instant', () => {
    // The reference: the Swedish locale's "YYYY-MM-DD hh:mm:ss", asked afresh every time.
    const direct = (timeZone: string, at: Date) => {
      const [date, clock] = at.toLocaleString('sv-SE', { timeZone, hourCycle: 'h23' }).split(' ');
      const [h, m, sec] = clock.split(':').map(Number);
      return { date, seconds: h * 3600 + m * 60 + sec };
    };
    // Around New York's and Kathmandu's (+05:45) midnights and New York's daylight-saving
    // changes, second by second; and Monrovia in 1970 (UTC-0:44:30, not whole minutes), whose
    // midnight falls half-way through a UTC minute.
    const runs: Array<[string, string]> = [
      ['America/New_York', '2026-12-08T04:59:00Z'],
      ['America/New_York', '2026-03-08T06:59:00Z'],
      ['America/New_York', '2026-11-01T05:59:00Z'],
      ['Asia/Kathmandu', '2026-12-07T18:14:00Z'],
      ['Africa/Monrovia', '1970-06-01T00:44:00Z'],
    ];
    for (const [zone, from] of runs) {
      const t0 = Date.parse(from);
      for (let s = -5; s < 185; s++) {
        const at = new Date(t0 + s * 1000 + (s % 3) * 333);
        expect([zone, at.toISOString(), localTime(zone, at)]).toEqual([
          zone,
          at.toISOString(),
          direct(zone, at),
        ]);
      }
    }
    // Going back in time (a remembered minute is not a lower bound).
    expect(localTime('America/New_York', new Date('2026-12-08T04:59:59Z')).date).toBe('2026-12-07');
  });

  it('crosses year ends and public holidays', () => {
    const us = weekdays({ country: 'US', region: 'CA' });
    // New Year's Day 2027 is a Friday: Thursday + 1 working day is Monday.
    expect(addWorkingDays(us, '2026-12-31', 1)).toBe('2027-01-04');
    // Christmas (Friday 2026-12-25) is skipped.
    expect(addWorkingDays(us, '2026-12-24', 1)).toBe('2026-12-28');
    expect(subtractWorkingDays(us, '2026-12-28', 1)).toBe('2026-12-24');
    expect(workingDaysBetween(us, '2026-12-24', '2027-01-04')).toBe(5); // 28, 29, 30, 31 December and 4 January (the 1st is a holiday)
  });

  it('handles leap days', () => {
    const cal = weekdays();
    expect(isCivilDate('2028-02-29')).toBe(true);
    expect(isCivilDate('2027-02-29')).toBe(false);
    expect(isCivilDate('2026-13-01')).toBe(false);
    expect(isCivilDate('2026-1-01')).toBe(false);
    expect(addWorkingDays(cal, '2028-02-28', 1)).toBe('2028-02-29');
    const closed = { ...cal, closures: new Set(['2028-02-29']) };
    expect(addWorkingDays(closed, '2028-02-28', 1)).toBe('2028-03-01');
    expect(workingDaysBetween(cal, '2028-02-25', '2028-03-01')).toBe(3);
  });

  it('knows time zones and holiday regions', () => {
    expect(isKnownTimeZone('America/New_York')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isKnownTimeZone('../../etc/passwd')).toBe(false);
    expect(isKnownHolidayRegion({ country: 'US', region: 'CA' })).toBe(true);
    expect(isKnownHolidayRegion({ country: 'US', region: 'XX' })).toBe(false);
    expect(isKnownHolidayRegion({ country: 'ZZ' })).toBe(false);
  });

  it('refuses negative or fractional day counts', () => {
    const cal = weekdays();
    expect(() => addWorkingDays(cal, '2026-12-07', -1)).toThrow(RangeError);
    expect(() => subtractWorkingDays(cal, '2026-12-07', 1.5)).toThrow(RangeError);
  });
});
