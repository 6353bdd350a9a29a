import { startStack, type Stack } from '@lhcms/testing';

const DAY = 86_400_000;
const plusDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

/** A calendar whose answers do not depend on the weekday the test runs on: every day works. */
const EVERY_DAY = {
  time_zone: 'UTC',
  working_days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
  cutoff: '23:59',
};

describe('lab schedule: calendar, turnaround, due and ship-by dates (e2e)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s.close());

  const putCalendar = (body: unknown, user = 'admin') =>
    s.as(user, '/api/v1/lab-settings/calendar', { method: 'PUT', body });
  const putTurnaround = (body: unknown, user = 'admin') =>
    s.as(user, '/api/v1/lab-settings/turnaround', { method: 'PUT', body });
  const create = async (over: Record<string, unknown> = {}) => {
    const res = await s.as('tech', '/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id: 'sched-doc', product_id: 'p', case_type: 'fixed_prosthetic', ...over },
    });
    expect(res.status).toBe(201);
    return res.body;
  };
  /** The lab's receipt day of a case under EVERY_DAY: its UTC date, or the next after 23:59. */
  const receipt = (c: { created_at: string }) =>
    c.created_at.slice(11, 16) > '23:59'
      ? plusDays(c.created_at.slice(0, 10), 1)
      : c.created_at.slice(0, 10);

  it('serves the defaults until an admin sets the calendar and turnaround', async () => {
    const cal = await s.as('viewer', '/api/v1/lab-settings/calendar');
    expect(cal.status).toBe(200);
    expect(cal.body).toEqual({
      time_zone: 'UTC',
      working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      cutoff: '17:00',
      closures: [],
      holidays: null,
      customised: false,
      updated_at: null,
    });
    const t = await s.as('viewer', '/api/v1/lab-settings/turnaround');
    expect(t.status).toBe(200);
    expect(t.body.customised).toBe(false);
    expect(t.body.entries.map((e: any) => e.case_type)).toEqual([
      'fixed_prosthetic',
      'denture',
      'night_guard',
      'implant',
      'orthodontic',
      'other',
    ]);
    for (const e of t.body.entries) expect(e.rush_days).toBeLessThanOrEqual(e.standard_days);
  });

  it('only lab admins change them; other labs do not see the change', async () => {
    expect((await putCalendar(EVERY_DAY, 'tech')).status).toBe(403);
    expect((await putCalendar(EVERY_DAY, 'viewer')).status).toBe(403);
    const put = await putCalendar({
      time_zone: 'America/New_York',
      working_days: ['fri', 'mon', 'tue'],
      cutoff: '16:30',
      closures: [{ date: '2027-01-02', label: 'Inventory' }, { date: '2026-12-24' }],
      holidays: { country: 'US', region: 'CA' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      time_zone: 'America/New_York',
      working_days: ['mon', 'tue', 'fri'], // in week order
      cutoff: '16:30',
      closures: [{ date: '2026-12-24' }, { date: '2027-01-02', label: 'Inventory' }], // by date
      holidays: { country: 'US', region: 'CA' },
      customised: true,
    });
    expect(put.body.updated_at).toEqual(expect.any(String));
    expect((await s.as('viewer', '/api/v1/lab-settings/calendar')).body).toEqual(put.body);
    expect((await s.as('lab2admin', '/api/v1/lab-settings/calendar')).body.customised).toBe(false);
  });

  it.each([
    ['an unknown time zone', { ...EVERY_DAY, time_zone: 'Mars/Olympus_Mons' }, 'time_zone'],
    ['a path as time zone', { ...EVERY_DAY, time_zone: '../../etc/passwd' }, 'time_zone'],
    ['cut-off 25:00', { ...EVERY_DAY, cutoff: '25:00' }, 'cutoff'],
    ['cut-off 9:00', { ...EVERY_DAY, cutoff: '9:00' }, 'cutoff'],
    ['no working day', { ...EVERY_DAY, working_days: [] }, 'working_days'],
    ['an unknown weekday', { ...EVERY_DAY, working_days: ['mon', 'fun'] }, 'working_days.1'],
    ['a repeated weekday', { ...EVERY_DAY, working_days: ['mon', 'mon'] }, 'working_days'],
    ['30 February', { ...EVERY_DAY, closures: [{ date: '2026-02-30' }] }, 'closures.0.date'],
    [
      '29 February of a common year',
      { ...EVERY_DAY, closures: [{ date: '2027-02-29' }] },
      'closures.0.date',
    ],
    [
      'a closure twice',
      { ...EVERY_DAY, closures: [{ date: '2026-12-24' }, { date: '2026-12-24' }] },
      'closures.1.date',
    ],
    [
      '10 000 closures',
      {
        ...EVERY_DAY,
        closures: Array.from({ length: 10_000 }, (_, i) => ({ date: plusDays('2026-01-01', i) })),
      },
      'closures',
    ],
    ['an unknown country', { ...EVERY_DAY, holidays: { country: 'ZZ' } }, 'holidays'],
    ['an unknown region', { ...EVERY_DAY, holidays: { country: 'US', region: 'XX' } }, 'holidays'],
    ['an unknown field', { ...EVERY_DAY, timezone: 'UTC' }, 'timezone'],
    ['a missing time zone', { working_days: ['mon'], cutoff: '17:00' }, 'time_zone'],
  ])('refuses %s (400 naming the field, nothing saved)', async (_, body, field) => {
    const before = (await s.as('admin', '/api/v1/lab-settings/calendar')).body;
    const res = await putCalendar(body);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('Input payload validation failed');
    expect(Object.keys(res.body.errors)).toContain(field);
    expect((await s.as('admin', '/api/v1/lab-settings/calendar')).body).toEqual(before);
  });

  const entry = (over: Record<string, unknown> = {}) => ({
    case_type: 'fixed_prosthetic',
    standard_days: 4,
    rush_days: 2,
    transit_days: 1,
    ...over,
  });

  it.each([
    ['negative days', { entries: [entry({ standard_days: -1 })] }, 'entries.0.standard_days'],
    ['more than 365 days', { entries: [entry({ standard_days: 366 })] }, 'entries.0.standard_days'],
    ['rush slower than standard', { entries: [entry({ rush_days: 5 })] }, 'entries.0.rush_days'],
    ['fractional days', { entries: [entry({ transit_days: 1.5 })] }, 'entries.0.transit_days'],
    ['an unknown case type', { entries: [entry({ case_type: 'veneer' })] }, 'entries.0.case_type'],
    ['a repeated entry', { entries: [entry(), entry()] }, 'entries.1'],
    ['a bad stage name', { entries: [], stage_days: { 'Design!': 1 } }, 'stage_days'],
  ])('refuses a turnaround with %s', async (_, body, field) => {
    const res = await putTurnaround(body);
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.errors).join(' ')).toContain(field);
  });

  describe('dates of new cases', () => {
    beforeAll(async () => {
      expect((await putCalendar(EVERY_DAY)).status).toBe(200);
      const t = await putTurnaround({
        entries: [
          entry(),
          entry({ product_id: 'p-fast', standard_days: 1, rush_days: 1, transit_days: 0 }),
        ],
        stage_days: { design: 1, manufacturing: 2 },
      });
      expect(t.status).toBe(200);
      expect(t.body.customised).toBe(true);
    });

    it('computes the due date from receipt and turnaround, and ship-by from transit', async () => {
      const c = await create();
      const day = receipt(c);
      expect(c).toMatchObject({
        due_date: plusDays(day, 4),
        ship_by: plusDays(day, 3),
        due_date_feasible: true,
      });
      const rush = await create({ rush_order: true });
      expect(rush).toMatchObject({
        due_date: plusDays(receipt(rush), 2),
        ship_by: plusDays(receipt(rush), 1),
      });
      const fast = await create({ product_id: 'p-fast' });
      expect(fast).toMatchObject({
        due_date: plusDays(receipt(fast), 1),
        ship_by: plusDays(receipt(fast), 1),
      });
      // A case type without an entry of the lab keeps its default (denture: 10 days).
      const denture = await create({ case_type: 'denture' });
      expect(denture.due_date).toBe(plusDays(receipt(denture), 10));
      // The same answer on read.
      expect((await s.as('viewer', `/api/v1/cases/${c.id}`)).body).toMatchObject({
        due_date: c.due_date,
        ship_by: c.ship_by,
      });
    });

    it('keeps a requested due date, flagging one the rush turnaround cannot meet', async () => {
      const probe = await create();
      const day = receipt(probe);
      const tooSoon = await create({ due_date: plusDays(day, 1) });
      expect(tooSoon).toMatchObject({
        due_date: plusDays(day, 1),
        ship_by: day,
        due_date_feasible: false,
      });
      const justInTime = await create({ due_date: plusDays(day, 2) });
      expect(justInTime.due_date_feasible).toBe(true);
      const later = await create({ due_date: plusDays(day, 30) });
      expect(later).toMatchObject({
        due_date: plusDays(day, 30),
        ship_by: plusDays(day, 29),
        due_date_feasible: true,
      });
    });

    it('flags late and at-risk cases on read, in lists too', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const late = await create({ due_date: '2020-01-06' });
      const days = (Date.parse(`${today}T00:00:00Z`) - Date.parse('2020-01-05T00:00:00Z')) / DAY;
      expect(late).toMatchObject({
        ship_by: '2020-01-05',
        late: true,
        at_risk: false,
        days_late: days,
      });
      // design 1 + manufacturing 2 = 3 working days needed; ship-by tomorrow leaves 2.
      const risky = await create({ due_date: plusDays(today, 2) });
      expect(risky).toMatchObject({ late: false, at_risk: true, days_late: 0 });
      const easy = await create({ due_date: plusDays(today, 20) });
      expect(easy).toMatchObject({ late: false, at_risk: false, days_late: 0 });
      const listed = await s.as('viewer', '/api/v1/cases/?limit=100');
      const byId = new Map(listed.body.cases.map((c: any) => [c.id, c]));
      expect(byId.get(late.id)).toMatchObject({ late: true, days_late: days });
      expect(byId.get(risky.id)).toMatchObject({ at_risk: true });
      // Completed work is never late.
      for (const status of ['in_progress', 'completed']) {
        const r = await s.as('tech', `/api/v1/cases/${late.id}/status`, {
          method: 'PATCH',
          body: { status },
        });
        expect(r.status).toBe(200);
      }
      expect((await s.as('viewer', `/api/v1/cases/${late.id}`)).body).toMatchObject({
        late: false,
        days_late: 0,
      });
    });

    it('lists work queues: due date range, ship-by, late, assignee', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const mine = `queue-${Date.now()}`;
      const a = await create({ due_date: '2020-02-03', assigned_to: mine }); // late
      const b = await create({ due_date: plusDays(today, 5), assigned_to: mine });
      const c = await create({ due_date: plusDays(today, 40), assigned_to: mine });
      const ids = async (query: string) => {
        const res = await s.as('viewer', `/api/v1/cases/?assigned_to=${mine}&limit=100&${query}`);
        expect(res.status).toBe(200);
        return res.body.cases.map((x: any) => x.id).sort((p: number, q: number) => p - q);
      };
      expect(await ids('')).toEqual([a.id, b.id, c.id]);
      expect(await ids(`due_from=${today}`)).toEqual([b.id, c.id]);
      expect(await ids(`due_from=${today}&due_to=${plusDays(today, 5)}`)).toEqual([b.id]);
      expect(await ids(`ship_by_to=${plusDays(today, 4)}`)).toEqual([a.id, b.id]);
      expect(await ids('late=true')).toEqual([a.id]);
      expect(await ids('late=false')).toEqual([b.id, c.id]);
      // Offset pages filter the same way, and count what they filter.
      const paged = await s.as('viewer', `/api/v1/cases/?assigned_to=${mine}&late=true`);
      expect(paged.body.pagination.total).toBe(1);
      for (const [q, field] of [
        ['due_from=2026-02-30', 'due_from'],
        ['due_to=tomorrow', 'due_to'],
        ['ship_by_to=2026-1-1', 'ship_by_to'],
        ['due_from=2026-12-10&due_to=2026-12-01', 'due_to'],
        ['late=yes', 'late'],
        ['late=true&late=false', 'late'],
        [`assigned_to=${'x'.repeat(51)}`, 'assigned_to'],
      ]) {
        const res = await s.as('viewer', `/api/v1/cases/?${q}`);
        expect([q, res.status]).toEqual([q, 400]);
        expect(Object.keys(res.body.errors)).toContain(field);
      }
    });

    it('sorts work queues and filters at-risk work over HTTP; bad sorts, flags and cursors are 400', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const mine = `sorted-${Date.now()}`;
      const late = await create({ due_date: '2020-03-02', assigned_to: mine });
      const risky = await create({ due_date: plusDays(today, 2), assigned_to: mine });
      const easy = await create({ due_date: plusDays(today, 20), assigned_to: mine });
      const get = (query: string) => s.as('viewer', `/api/v1/cases/?assigned_to=${mine}&${query}`);
      const ids = async (query: string) => {
        const res = await get(query);
        expect([query, res.status]).toEqual([query, 200]);
        return res.body.cases.map((x: any) => x.id);
      };
      expect(await ids('sort=due_date')).toEqual([late.id, risky.id, easy.id]);
      expect(await ids('sort=-due_date')).toEqual([easy.id, risky.id, late.id]);
      expect(await ids('sort=ship_by&limit=10')).toEqual([late.id, risky.id, easy.id]);
      expect(await ids('at_risk=true')).toEqual([risky.id]);
      expect(await ids('at_risk=false&sort=due_date')).toEqual([late.id, easy.id]);
      // A cursor page of a sorted queue, and the same cursor with other filters or sort.
      const first = await get('sort=due_date&limit=1');
      expect(first.body.cases.map((x: any) => x.id)).toEqual([late.id]);
      const cursor = encodeURIComponent(first.body.next_cursor);
      expect(await ids(`sort=due_date&limit=1&cursor=${cursor}`)).toEqual([risky.id]);
      for (const [q, field] of [
        ['sort=name', 'sort'],
        ['sort=%2Bdue_date', 'sort'],
        ['sort=due_date&order=desc', 'order'],
        ['sort=due_date&sort=ship_by', 'sort'],
        ['at_risk=maybe', 'at_risk'],
        [`sort=-due_date&limit=1&cursor=${cursor}`, 'cursor'],
        [`limit=1&cursor=${cursor}`, 'cursor'],
        [`sort=due_date&limit=1&late=false&cursor=${cursor}`, 'cursor'],
        ['sort=due_date&limit=1&cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ]) {
        const res = await get(q);
        expect([q, res.status]).toEqual([q, 400]);
        expect(Object.keys(res.body.errors)).toEqual([field]);
        expect(res.body.message).toMatch(new RegExp(`^Invalid ${field}: `));
      }
    });

    it('skips closures; a calendar change moves no existing case, a reschedule does', async () => {
      const before = await create();
      const day = receipt(before);
      const closed = await putCalendar({ ...EVERY_DAY, closures: [{ date: plusDays(day, 2) }] });
      expect(closed.status).toBe(200);
      const after = await create();
      expect(after.due_date).toBe(plusDays(receipt(after), receipt(after) === day ? 5 : 4));
      // The earlier case keeps its dates.
      expect((await s.as('viewer', `/api/v1/cases/${before.id}`)).body).toMatchObject({
        due_date: before.due_date,
        ship_by: before.ship_by,
      });
      // An explicit reschedule (with a reason) recomputes ship-by under today's calendar.
      const moved = await s.as('tech', `/api/v1/cases/${before.id}`, {
        method: 'PUT',
        body: { due_date: plusDays(day, 3), reason: 'doctor asked for it earlier' },
      });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({
        due_date: plusDays(day, 3),
        ship_by: plusDays(day, 1),
        due_date_feasible: true,
      });
      const cleared = await s.as('tech', `/api/v1/cases/${before.id}`, {
        method: 'PUT',
        body: { due_date: null, reason: 'on hold with the doctor' },
      });
      expect(cleared.body).toMatchObject({
        due_date: null,
        ship_by: null,
        due_date_feasible: null,
      });
      await putCalendar(EVERY_DAY);
    });
  });
});
