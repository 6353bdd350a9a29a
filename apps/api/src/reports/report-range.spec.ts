import { isoWeekKey, isoWeeksOf, negotiate, parseReportQuery } from './report-range';

describe('report query', () => {
  const today = '2026-12-09'; // a Wednesday

  it('defaults: the last 12 ISO weeks up to today; the due calendar from today, 10 days', () => {
    expect(parseReportQuery('on-time', {}, today)).toEqual({
      ok: { kind: 'range', from: '2026-09-21', to: '2026-12-09' },
    });
    expect(parseReportQuery('throughput', { from: '2026-01-01' }, today)).toEqual({
      ok: { kind: 'range', from: '2026-01-01', to: '2026-03-25' },
    });
    expect(parseReportQuery('throughput', { from: '2027-01-01' }, today)).toEqual({
      ok: { kind: 'range', from: '2027-01-01', to: '2027-01-01' },
    });
    expect(parseReportQuery('due-calendar', {}, today)).toEqual({
      ok: { kind: 'working-days', from: today, days: 10 },
    });
    expect(parseReportQuery('wip-by-stage', {}, today)).toEqual({ ok: { kind: 'snapshot' } });
  });

  it('two years is the most (731 days, a leap day included)', () => {
    expect(
      parseReportQuery('remakes', { from: '2024-01-01', to: '2025-12-31' }, today),
    ).toHaveProperty('ok');
    expect(
      parseReportQuery('remakes', { from: '2023-03-01', to: '2025-02-28' }, today),
    ).toHaveProperty('ok');
    expect(parseReportQuery('remakes', { from: '2024-01-01', to: '2026-01-01' }, today)).toEqual({
      errors: { to: expect.stringMatching(/two years/) },
    });
  });

  it('refuses what it cannot read, and parameters the report does not take', () => {
    expect(parseReportQuery('on-time', { from: '2026-02-29' }, today)).toEqual({
      errors: { from: 'is not a YYYY-MM-DD date' },
    });
    expect(parseReportQuery('on-time', { from: '2026-03-02', to: '2026-03-01' }, today)).toEqual({
      errors: { to: 'is before from' },
    });
    expect(parseReportQuery('due-calendar', { days: '007' }, today)).toHaveProperty('errors.days');
    expect(parseReportQuery('due-calendar', { days: '60' }, today)).toHaveProperty('ok.days', 60);
    expect(parseReportQuery('wip-by-stage', { to: '2026-01-01' }, today)).toHaveProperty(
      'errors.to',
    );
    expect(parseReportQuery('on-time', { days: '3' }, today)).toHaveProperty('errors.days');
  });

  it('ISO weeks as PostgreSQL writes them', () => {
    expect(isoWeekKey('2026-12-07')).toBe('2026-W50');
    expect(isoWeekKey('2027-01-01')).toBe('2026-W53');
    expect(isoWeekKey('2024-12-30')).toBe('2025-W01');
    expect(isoWeeksOf({ from: '2026-12-30', to: '2027-01-04' })).toEqual(['2026-W53', '2027-W01']);
  });

  it('Accept: JSON by default and on ties, CSV when preferred, null when neither', () => {
    expect(negotiate(undefined)).toBe('application/json');
    expect(negotiate('*/*')).toBe('application/json');
    expect(negotiate('text/csv')).toBe('text/csv');
    expect(negotiate('text/*, application/json;q=0.5')).toBe('text/csv');
    expect(negotiate('text/csv, application/json')).toBe('application/json');
    expect(negotiate('application/json;q=0, */*')).toBe('text/csv');
    expect(negotiate('application/xml')).toBeNull();
    expect(negotiate('text/csv;q=0')).toBeNull();
  });
});
