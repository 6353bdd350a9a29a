import { Client } from 'pg';
import {
  type HttpResponse,
  request,
  startStack,
  type Stack,
  testDatabaseUrls,
} from '@lhcms/testing';
import { parseMetrics, valueOf } from '../observability/metrics-scrape';

/**
 * The reports (issue 16) against hand-computed expectations on seeded cases.
 * The cases are written as the owner role (the app cannot backdate
 * created_at or the timeline), in a lab whose calendar is New York: dates
 * near midnight UTC fall on the other day there, and the range spans the
 * 2026-03-08 change to daylight-saving time.
 *
 *   case  received (NY)   type              left the lab (NY)         ship_by     state now
 *   A     03-02 09:00     fixed_prosthetic  shipped 03-05             03-05       in_progress/shipped
 *   B     03-02 23:30     denture           shipped 03-06 22:00       03-06       in_progress/shipped
 *   C     03-09 09:00     fixed_prosthetic  completed 03-11 (+03-12)  03-10       completed
 *   D     03-10 11:00     denture           delivered 03-13           –           in_progress/delivered
 *   E     03-15 23:30     fixed_prosthetic  –                         03-20       in_progress/design (late)
 *   F     03-01 07:00     night_guard       shipped 03-02             03-01       in_progress/shipped
 *   G     03-04 10:00     remake of A: fit, lab, not chargeable       2099-01-05  pending (due 2099-01-06)
 *   H     03-05 10:00     remake of B: shade, doctor, chargeable      –           cancelled
 *   I     03-03           deleted (shipped 03-04): counted nowhere
 *   K     06-01           –                                           2099-01-07  in_progress/qc (due 2099-01-08)
 *   L     01-01           –                                           2026-01-01  on_hold/design (late)
 *   M     06-01           –                                           2099-01-08  pending (due 2099-01-10, a Saturday)
 *   X     03-03, in lab 2 (shipped 03-04): counted nowhere for lab 1
 */
describe('reports (e2e)', () => {
  let s: Stack;
  let owner: Client;
  let lab1: string;
  let lab2: string;
  const ids: Record<string, number> = {};

  async function insertCase(lab: string, key: string, c: Record<string, unknown>) {
    const cols = Object.keys(c);
    await owner.query(`SELECT set_config('app.lab_id', $1, false)`, [lab]);
    const r = await owner.query<{ id: number }>(
      `INSERT INTO cases (lab_id, doctor_id, product_id, ${cols.join(', ')})
       VALUES ($1, 'rep-doc', 'p1', ${cols.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING id`,
      [lab, ...cols.map((k) => c[k])],
    );
    ids[key] = r.rows[0].id;
  }

  async function event(
    lab: string,
    key: string,
    at: string,
    to: { stage?: string; status?: string },
  ) {
    await owner.query(`SELECT set_config('app.lab_id', $1, false)`, [lab]);
    await owner.query(
      `INSERT INTO case_events (lab_id, case_id, event_type, actor_user_id, occurred_at, to_stage, to_status)
       VALUES ($1, $2, $3, 'seed', $4, $5, $6)`,
      [
        lab,
        ids[key],
        to.stage ? 'stage_changed' : 'status_changed',
        at,
        to.stage ?? null,
        to.status ?? null,
      ],
    );
  }

  beforeAll(async () => {
    s = await startStack();
    lab1 = String(s.labs.lab1);
    lab2 = String(s.labs.lab2);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
    const cal = await s.as('admin', '/api/v1/lab-settings/calendar', {
      method: 'PUT',
      body: {
        time_zone: 'America/New_York',
        working_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        cutoff: '17:00',
        closures: [{ date: '2099-01-06', label: 'Inventory' }],
      },
    });
    expect(cal.status).toBe(200);

    const ip = (stage: string) => ({ status: 'in_progress', stage });
    await insertCase(lab1, 'A', {
      case_type: 'fixed_prosthetic',
      created_at: '2026-03-02T14:00:00Z',
      ship_by: '2026-03-05',
      ...ip('shipped'),
    });
    await insertCase(lab1, 'B', {
      case_type: 'denture',
      created_at: '2026-03-03T04:30:00Z',
      ship_by: '2026-03-06',
      ...ip('shipped'),
    });
    await insertCase(lab1, 'C', {
      case_type: 'fixed_prosthetic',
      created_at: '2026-03-09T13:00:00Z',
      ship_by: '2026-03-10',
      status: 'completed',
      stage: 'shipped',
    });
    await insertCase(lab1, 'D', {
      case_type: 'denture',
      created_at: '2026-03-10T15:00:00Z',
      ...ip('delivered'),
    });
    await insertCase(lab1, 'E', {
      case_type: 'fixed_prosthetic',
      created_at: '2026-03-16T03:30:00Z',
      ship_by: '2026-03-20',
      due_date: '2026-03-23',
      ...ip('design'),
    });
    await insertCase(lab1, 'F', {
      case_type: 'night_guard',
      created_at: '2026-03-01T12:00:00Z',
      ship_by: '2026-03-01',
      due_date: '2099-01-07',
      ...ip('shipped'),
    });
    await insertCase(lab1, 'G', {
      case_type: 'fixed_prosthetic',
      created_at: '2026-03-04T15:00:00Z',
      status: 'pending',
      due_date: '2099-01-06',
      ship_by: '2099-01-05',
      remake_of: ids.A,
      remake_reason: 'fit',
      remake_responsibility: 'lab',
      remake_chargeable: false,
    });
    await insertCase(lab1, 'H', {
      case_type: 'denture',
      created_at: '2026-03-05T15:00:00Z',
      status: 'cancelled',
      remake_of: ids.B,
      remake_reason: 'shade',
      remake_responsibility: 'doctor',
      remake_chargeable: true,
    });
    await insertCase(lab1, 'I', {
      case_type: 'denture',
      created_at: '2026-03-03T15:00:00Z',
      ship_by: '2026-03-09',
      deleted_at: '2026-03-20T00:00:00Z',
      ...ip('shipped'),
    });
    await insertCase(lab1, 'K', {
      case_type: 'implant',
      created_at: '2026-06-01T15:00:00Z',
      due_date: '2099-01-08',
      ship_by: '2099-01-07',
      ...ip('qc'),
    });
    await insertCase(lab1, 'L', {
      case_type: 'other',
      created_at: '2026-01-01T15:00:00Z',
      due_date: '2026-01-02',
      ship_by: '2026-01-01',
      status: 'on_hold',
      stage: 'design',
      held_from_status: 'in_progress',
    });
    await insertCase(lab1, 'M', {
      case_type: 'other',
      created_at: '2026-06-01T15:00:00Z',
      status: 'pending',
      due_date: '2099-01-10',
      ship_by: '2099-01-08',
    });
    await insertCase(lab2, 'X', {
      case_type: 'denture',
      created_at: '2026-03-03T15:00:00Z',
      ship_by: '2026-03-09',
      ...ip('shipped'),
    });

    await event(lab1, 'A', '2026-03-05T20:00:00Z', { stage: 'shipped' });
    await event(lab1, 'B', '2026-03-07T03:00:00Z', { stage: 'shipped' });
    await event(lab1, 'C', '2026-03-11T15:00:00Z', { status: 'completed' });
    await event(lab1, 'C', '2026-03-12T15:00:00Z', { stage: 'shipped' });
    await event(lab1, 'D', '2026-03-13T15:00:00Z', { stage: 'delivered' });
    await event(lab1, 'F', '2026-03-02T15:00:00Z', { stage: 'shipped' });
    await event(lab1, 'I', '2026-03-04T15:00:00Z', { stage: 'shipped' });
    await event(lab2, 'X', '2026-03-04T15:00:00Z', { stage: 'shipped' });
  });

  afterAll(async () => {
    await owner?.end();
    await s?.close();
  });

  const RANGE = 'from=2026-03-02&to=2026-03-15';
  const get = (path: string, user = 'admin', headers: Record<string, string> = {}) =>
    s.as(user, `/api/v1/reports/${path}`, { headers });
  const ERROR_KEYS = ['code', 'error', 'message', 'request_id', 'timestamp'];
  function refused(res: HttpResponse, status: number) {
    expect(res.status).toBe(status);
    expect(
      Object.keys(res.body)
        .filter((k) => k !== 'errors' && k !== 'missing_permission')
        .sort(),
    ).toEqual(ERROR_KEYS);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return res.body;
  }

  it("throughput: received and shipped per ISO week in the lab's time zone", async () => {
    const res = await get(`throughput?${RANGE}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('vary')).toMatch(/Accept/);
    expect(res.body).toEqual({
      report: 'throughput',
      time_zone: 'America/New_York',
      from: '2026-03-02',
      to: '2026-03-15',
      total: { received: 7, shipped: 5 },
      rows: [
        { week: '2026-W10', received: 4, shipped: 3 },
        { week: '2026-W11', received: 3, shipped: 2 },
      ],
    });
  });

  it('on-time: shipped by ship-by, in total, per week and per case type', async () => {
    const res = await get(`on-time?${RANGE}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      report: 'on-time',
      time_zone: 'America/New_York',
      from: '2026-03-02',
      to: '2026-03-15',
      total: { shipped: 5, on_time: 2, late: 2, no_date: 1, on_time_rate: 0.5 },
      by_week: [
        { week: '2026-W10', shipped: 3, on_time: 2, late: 1, no_date: 0, on_time_rate: 0.6667 },
        { week: '2026-W11', shipped: 2, on_time: 0, late: 1, no_date: 1, on_time_rate: 0 },
      ],
      by_case_type: [
        { case_type: 'denture', shipped: 2, on_time: 1, late: 0, no_date: 1, on_time_rate: 1 },
        {
          case_type: 'fixed_prosthetic',
          shipped: 2,
          on_time: 1,
          late: 1,
          no_date: 0,
          on_time_rate: 0.5,
        },
        { case_type: 'night_guard', shipped: 1, on_time: 0, late: 1, no_date: 0, on_time_rate: 0 },
      ],
    });
    // A week with nothing shipped is listed, its rate null.
    const empty = await get('on-time?from=2026-03-16&to=2026-03-22');
    expect(empty.body.by_week).toEqual([
      { week: '2026-W12', shipped: 0, on_time: 0, late: 0, no_date: 0, on_time_rate: null },
    ]);
    expect(empty.body.by_case_type).toEqual([]);
  });

  it('remakes: rate by reason and responsibility over the cases received', async () => {
    const res = await get(`remakes?${RANGE}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      report: 'remakes',
      time_zone: 'America/New_York',
      from: '2026-03-02',
      to: '2026-03-15',
      total: { cases: 7, remakes: 2, chargeable: 1, remake_rate: 0.2857 },
      by_reason: [
        { reason: 'fit', remakes: 1, chargeable: 0, remake_rate: 0.1429 },
        { reason: 'shade', remakes: 1, chargeable: 1, remake_rate: 0.1429 },
      ],
      by_responsibility: [
        { responsibility: 'doctor', remakes: 1, chargeable: 1, remake_rate: 0.1429 },
        { responsibility: 'lab', remakes: 1, chargeable: 0, remake_rate: 0.1429 },
      ],
    });
  });

  it('wip-by-stage: open cases per status and stage, late ones counted', async () => {
    const res = await get('wip-by-stage');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      report: 'wip-by-stage',
      time_zone: 'America/New_York',
      as_of: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      total: { cases: 5, late: 2 },
      rows: [
        { status: 'pending', stage: null, cases: 2, late: 0 },
        { status: 'in_progress', stage: 'design', cases: 1, late: 1 },
        { status: 'in_progress', stage: 'qc', cases: 1, late: 0 },
        { status: 'on_hold', stage: 'design', cases: 1, late: 1 },
      ],
    });
  });

  it("due-calendar: per working day of the lab's calendar, closed days folded into the day before", async () => {
    // 2099-01-03 is a Saturday; the 6th (Tuesday) is a closure: Mon 5th, Wed 7th, Thu 8th.
    const res = await get('due-calendar?from=2099-01-03&days=3');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      report: 'due-calendar',
      time_zone: 'America/New_York',
      from: '2099-01-03',
      to: '2099-01-08',
      days: 3,
      overdue: { due: 2, ship_by: 2 },
      rows: [
        { date: '2099-01-05', due: 1, ship_by: 1 },
        { date: '2099-01-07', due: 0, ship_by: 1 },
        { date: '2099-01-08', due: 1, ship_by: 1 },
      ],
    });
    const dflt = await get('due-calendar');
    expect(dflt.status).toBe(200);
    expect(dflt.body.rows).toHaveLength(10);
  });

  it('CSV with Accept: text/csv — the same figures, a file name, RFC 4180 line ends', async () => {
    const res = await get(`on-time?${RANGE}`, 'admin', { accept: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="on-time_2026-03-02_2026-03-15.csv"',
    );
    expect(res.text).toBe(
      [
        'breakdown,key,shipped,on_time,late,no_date,on_time_rate',
        'total,,5,2,2,1,0.5',
        'week,2026-W10,3,2,1,0,0.6667',
        'week,2026-W11,2,0,1,1,0',
        'case_type,denture,2,1,0,1,1',
        'case_type,fixed_prosthetic,2,1,1,0,0.5',
        'case_type,night_guard,1,0,1,0,0',
        '',
      ].join('\r\n'),
    );
    const t = await get(`throughput?${RANGE}`, 'admin', {
      accept: 'text/csv;q=0.9, application/json;q=0.5',
    });
    expect(t.text).toBe('week,received,shipped\r\n2026-W10,4,3\r\n2026-W11,3,2\r\n');
    const r = await get(`remakes?${RANGE}`, 'admin', { accept: 'text/*' });
    expect(r.text).toBe(
      [
        'breakdown,key,cases,remakes,chargeable,remake_rate',
        'total,,7,2,1,0.2857',
        'reason,fit,7,1,0,0.1429',
        'reason,shade,7,1,1,0.1429',
        'responsibility,doctor,7,1,1,0.1429',
        'responsibility,lab,7,1,0,0.1429',
        '',
      ].join('\r\n'),
    );
    const w = await get('wip-by-stage', 'admin', { accept: 'text/csv' });
    expect(w.text).toBe(
      'status,stage,cases,late\r\npending,,2,0\r\nin_progress,design,1,1\r\nin_progress,qc,1,0\r\non_hold,design,1,1\r\n',
    );
    const d = await get('due-calendar?from=2099-01-03&days=3', 'admin', { accept: 'text/csv' });
    expect(d.text).toBe(
      'date,due,ship_by\r\nbefore 2099-01-03,2,2\r\n2099-01-05,1,1\r\n2099-01-07,0,1\r\n2099-01-08,1,1\r\n',
    );
    expect(d.headers.get('content-disposition')).toBe(
      'attachment; filename="due-calendar_2099-01-03_2099-01-08.csv"',
    );
    // JSON wins a tie and is the default for */*.
    const any = await get(`throughput?${RANGE}`, 'admin', { accept: '*/*' });
    expect(any.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it("another lab's cases are never counted", async () => {
    const res = await get(`throughput?${RANGE}`, 'lab2admin');
    expect(res.status).toBe(200);
    expect(res.body.total).toEqual({ received: 1, shipped: 1 });
    const wip = await get('wip-by-stage', 'lab2admin');
    expect(wip.body.total).toEqual({ cases: 0, late: 0 });
  });

  it('each call leaves one audit row: an aggregate disclosure, who, which report, the range, no patients', async () => {
    const marker = `audit-${Date.now()}`;
    const res = await s.as('tech', `/api/v1/reports/on-time?${RANGE}`, {
      headers: { accept: 'text/csv', 'user-agent': marker },
    });
    expect(res.status).toBe(200);
    await owner.query(`SELECT set_config('app.lab_id', $1, false)`, [lab1]);
    const { rows } = await owner.query(
      `SELECT actor_user_id, actor_role, action, interaction, resource_type, resource_id, patient_ref,
              patient_refs, entity_ids, subject_count, query, outcome, http_status, route
       FROM audit_events WHERE lab_id = $1 AND user_agent = $2`,
      [lab1, marker],
    );
    expect(rows).toEqual([
      {
        actor_user_id: expect.any(String),
        actor_role: 'member',
        action: 'E',
        interaction: 'aggregate',
        resource_type: 'report',
        resource_id: null,
        patient_ref: null,
        patient_refs: null,
        entity_ids: null,
        subject_count: 0,
        query: { from: '2026-03-02', to: '2026-03-15', report: 'on-time', format: 'csv' },
        outcome: 'success',
        http_status: 200,
        route: '/api/v1/reports/on-time',
      },
    ]);
    // A default range is recorded as served.
    const marker2 = `${marker}-2`;
    await s.as('admin', '/api/v1/reports/throughput', { headers: { 'user-agent': marker2 } });
    const again = await owner.query(`SELECT query FROM audit_events WHERE user_agent = $1`, [
      marker2,
    ]);
    expect(again.rows).toEqual([
      {
        query: {
          report: 'throughput',
          format: 'json',
          from: expect.any(String),
          to: expect.any(String),
        },
      },
    ]);
    // A refusal is on record too.
    const marker3 = `${marker}-3`;
    await s.as('admin', '/api/v1/reports/throughput?from=2026-13-01', {
      headers: { 'user-agent': marker3 },
    });
    const refusedRow = await owner.query(
      `SELECT outcome, http_status, interaction FROM audit_events WHERE user_agent = $1`,
      [marker3],
    );
    expect(refusedRow.rows).toEqual([
      { outcome: 'error', http_status: 400, interaction: 'aggregate' },
    ]);
  });

  it('viewers read reports until the lab turns it off; only admins change that', async () => {
    expect((await get('wip-by-stage', 'viewer')).status).toBe(200);
    const settings = await s.as('viewer', '/api/v1/lab-settings/reports');
    expect(settings.body).toEqual({ viewer_access: true, customised: false, updated_at: null });
    const put = (user: string, body: unknown) =>
      s.as(user, '/api/v1/lab-settings/reports', { method: 'PUT', body });
    refused(await put('tech', { viewer_access: false }), 403);
    refused(await put('viewer', { viewer_access: false }), 403);
    refused(await put('admin', { viewer_access: 'no' }), 400);
    refused(await put('admin', {}), 400);
    const off = await put('admin', { viewer_access: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ viewer_access: false, customised: true });
    const denied = refused(await get('wip-by-stage', 'viewer'), 403);
    expect(denied.missing_permission).toBe('report:read');
    expect((await get('wip-by-stage', 'tech')).status).toBe(200);
    expect((await get('wip-by-stage', 'admin')).status).toBe(200);
    // Another lab's setting is its own.
    expect((await s.as('lab2admin', '/api/v1/lab-settings/reports')).body.viewer_access).toBe(true);
    expect((await put('admin', { viewer_access: true })).status).toBe(200);
    expect((await get('wip-by-stage', 'viewer')).status).toBe(200);
  });

  it('bad input: one error shape, naming the parameter, never a 5xx', async () => {
    const cases: Array<[string, number, string | null]> = [
      ['on-time?from=2026-03-15&to=2026-03-02', 400, 'to'],
      ['throughput?from=2024-01-01&to=2026-01-02', 400, 'to'],
      ['throughput?from=2024-01-01&to=2025-12-31', 200, null],
      ['remakes?from=2026-02-30', 400, 'from'],
      ['remakes?to=yesterday', 400, 'to'],
      ['on-time?from=2026-03-02&from=2026-03-03', 400, 'from'],
      ['due-calendar?days=0', 400, 'days'],
      ['due-calendar?days=61', 400, 'days'],
      ['due-calendar?days=1e1', 400, 'days'],
      ['due-calendar?to=2026-03-02', 400, 'to'],
      ['wip-by-stage?from=2026-03-02', 400, 'from'],
    ];
    for (const [path, status, field] of cases) {
      const res = await get(path);
      if (status === 200) {
        expect([path, res.status]).toEqual([path, 200]);
        continue;
      }
      const body = refused(res, status);
      expect([path, Object.keys(body.errors)]).toEqual([path, [field]]);
    }
    refused(await get('nope'), 404);
    refused(await get('on-time', 'admin', { accept: 'application/xml' }), 406);
    refused(await get('on-time', 'admin', { accept: 'text/csv;q=0, application/json;q=0' }), 406);
    // 406 comes before the query is read: no CSV headers on the refusal.
    const r = await get('on-time?from=bad', 'admin', { accept: 'image/png' });
    refused(r, 406);
    expect(r.headers.get('content-disposition')).toBeNull();
  });

  it('counts report calls by report, format and outcome, with no lab label', async () => {
    const scrape = async () => parseMetrics((await request(s.api.url, '/metrics')).text);
    const before = await scrape();
    await get(`throughput?${RANGE}`, 'admin', { accept: 'text/csv' });
    await get('throughput?from=2026-13-01');
    await get('throughput', 'admin', { accept: 'application/xml' });
    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      valueOf(after, 'lhcms_report_requests_total', labels) -
      valueOf(before, 'lhcms_report_requests_total', labels);
    expect(delta({ report: 'throughput', format: 'csv', outcome: 'success' })).toBe(1);
    expect(delta({ report: 'throughput', format: 'none', outcome: 'client_error' })).toBe(2);
    const series = after.filter((x) => x.name === 'lhcms_report_requests_total');
    expect(series.length).toBe(45);
    for (const x of series)
      expect(Object.keys(x.labels).sort()).toEqual(['format', 'outcome', 'report']);
  });
});
