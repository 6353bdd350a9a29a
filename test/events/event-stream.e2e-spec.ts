import { Client } from 'pg';
import {
  eventually,
  loginSeedUser,
  request,
  startStack,
  startTestApi,
  startTestUms,
  type Stack,
  type TestApi,
  ownTestDatabase,
  type OwnTestDatabase,
  testEnv,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import { SseClient } from './sse-client';

const ENVELOPE_KEYS = [
  'case_id',
  'case_number',
  'id',
  'lab_id',
  'occurred_at',
  'payload',
  'seq',
  'type',
];

/**
 * The live feed (GET /api/v1/events/stream) over real HTTP: ums-dev, the
 * dispatcher on (a short interval), a second LHCMS instance on the same
 * database. Frames are read from a real socket as they arrive.
 */
describe('live feed of case events (SSE)', () => {
  let db: OwnTestDatabase;
  let s: Stack;
  let b: TestApi;
  let owner: Client;
  const open: SseClient[] = [];

  const sse = async (o: Parameters<typeof SseClient.open>[1], url = s.api.url) => {
    const c = await SseClient.open(url, o);
    open.push(c);
    return c;
  };

  const createCase = async (user: string, patientName: string): Promise<number> => {
    const res = await s.as(user, '/api/v1/cases/', {
      method: 'POST',
      body: {
        doctor_id: 'sse-doc',
        product_id: 'p',
        case_type: 'other',
        patient_info: { patient_id: `PID-${patientName}`, first_name: patientName },
      },
    });
    if (res.status !== 201) throw new Error(`case create failed: ${res.status} ${res.text}`);
    return res.body.id as number;
  };
  const moveTo = async (user: string, caseId: number, status: string) => {
    const res = await s.as(user, `/api/v1/cases/${caseId}/status`, {
      method: 'PATCH',
      body: status === 'on_hold' ? { status, reason: 'waiting for the bite' } : { status },
    });
    if (res.status !== 200) throw new Error(`status change failed: ${res.status} ${res.text}`);
  };
  const eventsOf = (c: SseClient, caseId: number) =>
    c.events.filter((e) => e.data.case_id === caseId);

  beforeAll(async () => {
    // A database of its own: its dispatcher must not hand over other suites' events.
    db = await ownTestDatabase('lhcms_sse');
    const env = {
      ...db.env,
      EVENTS_DISPATCHER: 'on',
      EVENTS_DISPATCH_INTERVAL_MS: '20',
      EVENTS_STREAM_POLL_MS: '50',
      EVENTS_STREAM_HEARTBEAT_SECONDS: '1',
      EVENTS_STREAM_MAX_PER_USER: '3',
    };
    s = await startStack({ env });
    // Instance B: the same database and UMS, no dispatcher of its own.
    b = await startTestApi(testEnv({ ...env, UMS_BASE_URL: s.ums.url, EVENTS_DISPATCHER: 'off' }));
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await owner?.end();
    await b?.close();
    await s?.close();
    await db?.drop();
  });

  it("streams its lab's create and status events as SSE frames, none of another lab's, no PHI", async () => {
    const c = await sse({ token: await s.token('admin'), labId: s.labs.lab1 });
    expect(c.status).toBe(200);
    expect(c.res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(c.res.headers['cache-control']).toBe('no-store');
    expect(c.res.headers['x-content-type-options']).toBe('nosniff');
    await c.waitFor((x) => x.frames.some((f) => f.retry !== undefined), 5000, 'the retry hint');

    const mine = await createCase('admin', 'Zelda-Streamwise');
    const theirs = await createCase('lab2admin', 'Otto-Otherlab');
    await moveTo('lab2admin', theirs, 'in_progress');
    await moveTo('admin', mine, 'in_progress');

    await c.waitFor((x) => eventsOf(x, mine).length === 2, 10_000, 'two events of the case');
    const got = eventsOf(c, mine);
    expect(got.map((e) => [e.event, e.data.seq])).toEqual([
      ['case.created', 1],
      ['case.status_changed', 2],
    ]);
    for (const e of got) {
      expect(Object.keys(e.data).sort()).toEqual(ENVELOPE_KEYS);
      expect(e.id).toBe(e.data.id);
      expect(e.event).toBe(e.data.type);
      expect(e.data.lab_id).toBe(String(s.labs.lab1));
    }
    expect(got[1].data.payload).toMatchObject({ from_status: 'pending', to_status: 'in_progress' });
    // The other lab's events were dispatched before this lab's status change: the fan-out would
    // have delivered them by now.
    expect(c.events.filter((e) => e.data.case_id === theirs)).toEqual([]);
    expect(c.events.every((e) => e.data.lab_id === String(s.labs.lab1))).toBe(true);
    expect(c.text).not.toMatch(/Zelda|Streamwise|Otto|PID-/);
  });

  it('resumes with Last-Event-ID: exactly the missed events, in order, once each, then live ones', async () => {
    const token = await s.token('admin');
    const first = await sse({ token, labId: s.labs.lab1 });
    const caseId = await createCase('admin', 'Resume-One');
    await moveTo('admin', caseId, 'in_progress');
    await first.waitFor((x) => eventsOf(x, caseId).length === 2, 10_000, 'two events');
    const seen = eventsOf(first, caseId)[0];
    await first.close();

    // Missed while away: the second event (already sent before the close) and new ones.
    const other = await createCase('tech', 'Resume-Two');
    await moveTo('admin', caseId, 'on_hold');
    await eventually(
      async () =>
        (
          await owner.query(
            `SELECT 1 FROM case_outbox
              WHERE case_id IN ($1, $2) AND stream_seq IS NOT NULL AND dispatched_at IS NOT NULL`,
            [other, caseId],
          )
        ).rowCount === 4,
      10_000,
      'the dispatch of the missed events',
    );
    const expected = (
      await owner.query<{ id: string }>(
        `SELECT id FROM case_outbox
          WHERE lab_id = $1 AND stream_seq > (SELECT stream_seq FROM case_outbox WHERE id = $2)
          ORDER BY stream_seq`,
        [String(s.labs.lab1), seen.id],
      )
    ).rows.map((r) => r.id);
    expect(expected.length).toBeGreaterThanOrEqual(3);

    const resumed = await sse({ token, labId: s.labs.lab1, lastEventId: seen.id });
    expect(resumed.status).toBe(200);
    await resumed.waitFor((x) => x.events.length >= expected.length, 10_000, 'the catch-up');
    const live = await createCase('admin', 'Resume-Three');
    await resumed.waitFor((x) => eventsOf(x, live).length === 1, 10_000, 'a live event');
    const ids = resumed.events.map((e) => e.id);
    expect(ids.slice(0, expected.length)).toEqual(expected);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(seen.id);

    // The same through ?last_event_id= (clients that cannot set headers).
    const byQuery = await sse({
      token,
      labId: s.labs.lab1,
      query: `last_event_id=${seen.id}`,
    });
    await byQuery.waitFor((x) => x.events.length >= expected.length, 10_000, 'the catch-up');
    expect(byQuery.events.slice(0, expected.length).map((e) => e.id)).toEqual(expected);
  });

  it('streams opened while events flow (with and without Last-Event-ID) each get a gapless, duplicate-free run of the lab stream', async () => {
    const reference = await sse({ token: await s.token('admin'), labId: s.labs.lab1 });
    let writing = true;
    const written: number[] = [];
    const writer = (async () => {
      while (writing) {
        const id = await createCase('tech', 'Handover');
        written.push(id);
        await moveTo('tech', id, 'in_progress');
      }
    })();
    const late: Array<{ c: SseClient; after?: string }> = [];
    for (const user of ['viewer', 'multi', 'tech']) {
      await new Promise((r) => setTimeout(r, 300));
      const seen = reference.events;
      const after = user === 'multi' ? undefined : seen[Math.max(0, seen.length - 3)]?.id;
      late.push({
        c: await sse({ token: await s.token(user), labId: s.labs.lab1, lastEventId: after }),
        after,
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await writer;
    const lastCase = written[written.length - 1];
    for (const c of [reference, ...late.map((l) => l.c)]) {
      await c.waitFor((x) => eventsOf(x, lastCase).length === 2, 15_000, 'the last event');
    }
    const lab = (
      await owner.query<{ id: string }>(
        `SELECT id FROM case_outbox WHERE lab_id = $1 AND stream_seq IS NOT NULL ORDER BY stream_seq`,
        [String(s.labs.lab1)],
      )
    ).rows.map((r) => r.id);
    const runOf = (ids: string[]) => {
      const from = lab.indexOf(ids[0]);
      return lab.slice(from, from + ids.length);
    };
    for (const { c, after } of [{ c: reference, after: undefined }, ...late]) {
      const ids = c.events.map((e) => e.id);
      expect(ids.length).toBeGreaterThan(0);
      // A contiguous run of the lab's stream, up to its current end: no gap, no duplicate.
      expect(ids).toEqual(runOf(ids));
      expect(ids[ids.length - 1]).toBe(lab[lab.length - 1]);
      if (after) expect(ids[0]).toBe(lab[lab.indexOf(after) + 1]);
    }
    expect(written.length).toBeGreaterThan(3);
  });

  it('garbage Last-Event-ID → 400; another lab’s or an unknown event id → 410, the same answer', async () => {
    const token = await s.token('admin');
    const garbage = await sse({ token, labId: s.labs.lab1, lastEventId: 'not-a-uuid' });
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ code: 400, error: 'Bad Request' });
    expect(garbage.body.errors).toHaveProperty('last_event_id');
    expect(typeof garbage.body.request_id).toBe('string');

    const badTypes = await sse({ token, labId: s.labs.lab1, query: 'types=case.created,nope' });
    expect(badTypes.status).toBe(400);
    expect(badTypes.body.errors).toHaveProperty('types');

    const theirCase = await createCase('lab2admin', 'Foreign-Id');
    const theirEvent = await eventually(
      async () =>
        (
          await owner.query<{ id: string }>(
            `SELECT id FROM case_outbox WHERE case_id = $1 AND stream_seq IS NOT NULL`,
            [theirCase],
          )
        ).rows[0]?.id,
      10_000,
      'the other lab’s event dispatched',
    );
    const foreign = await sse({ token, labId: s.labs.lab1, lastEventId: theirEvent });
    const unknown = await sse({
      token,
      labId: s.labs.lab1,
      lastEventId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    });
    for (const r of [foreign, unknown]) {
      expect(r.status).toBe(410);
      expect(r.body).toMatchObject({ code: 410, error: 'Gone' });
    }
    expect(foreign.body.message).toBe(unknown.body.message);
    // The owner of the event resumes from it.
    const theirs = await sse({
      token: await s.token('lab2admin'),
      labId: s.labs.lab2,
      lastEventId: theirEvent,
    });
    expect(theirs.status).toBe(200);
  });

  it('sends a heartbeat comment while idle', async () => {
    const c = await sse({ token: await s.token('viewer'), labId: s.labs.lab1 });
    await c.waitFor(
      (x) => x.frames.some((f) => f.comments.includes('heartbeat')),
      4000,
      'a heartbeat',
    );
  });

  it('filters by ?types=', async () => {
    const c = await sse({
      token: await s.token('admin'),
      labId: s.labs.lab1,
      query: 'types=case.status_changed',
    });
    const caseId = await createCase('admin', 'Types-Filter');
    await moveTo('admin', caseId, 'in_progress');
    await c.waitFor((x) => eventsOf(x, caseId).length === 1, 10_000, 'the status event');
    expect(eventsOf(c, caseId).map((e) => e.event)).toEqual(['case.status_changed']);
  });

  it('refuses a user past EVENTS_STREAM_MAX_PER_USER with 429 and Retry-After; a closed stream frees its place', async () => {
    const token = await s.token('tech');
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await sse({ token, labId: s.labs.lab1 }));
    expect(streams.map((c) => c.status)).toEqual([200, 200, 200]);
    const refused = await sse({ token, labId: s.labs.lab1 });
    expect(refused.status).toBe(429);
    expect(refused.res.headers['retry-after']).toBeDefined();
    expect(refused.body).toMatchObject({ code: 429, error: 'Too Many Requests' });
    // Another user is not affected.
    expect((await sse({ token: await s.token('viewer'), labId: s.labs.lab1 })).status).toBe(200);
    await streams[0].close();
    const again = await eventually(async () => {
      const c = await sse({ token, labId: s.labs.lab1 });
      return c.status === 200 ? c : undefined;
    }, 5000);
    expect(again.status).toBe(200);
    const metrics = (await request(s.api.url, '/metrics')).text;
    expect(metrics).toMatch(/lhcms_event_streams_refused_total\{reason="user_limit"\} [1-9]/);
    expect(metrics).toMatch(/lhcms_event_streams_open [1-9]/);
  });

  it('403 for a user without the lab; 401 without a token', async () => {
    const nolab = await sse({ token: await s.token('nolab') });
    expect(nolab.status).toBe(403);
    const notMine = await sse({ token: await s.token('lab2admin'), labId: s.labs.lab1 });
    expect(notMine.status).toBe(403);
    const anon = await sse({ token: 'garbage' });
    expect(anon.status).toBe(401);
    // HEAD answers the headers and holds nothing open.
    const head = await fetch(`${s.api.url}/api/v1/events/stream`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${await s.token('admin')}` },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
  });

  it('cuts a client that reads too slowly (memory stays bounded); it resumes with Last-Event-ID and misses nothing', async () => {
    const token = await s.token('admin');
    const caseId = await createCase('admin', 'Slow-Reader');
    const slow = await sse({ token, labId: s.labs.lab1 });
    await slow.waitFor((x) => x.frames.length > 0, 5000, 'the open comment');
    slow.res.pause();
    // 120 events of ~64 KiB each (7.5 MiB: past the 1 MiB the stream may buffer plus what the
    // sockets hold), written undispatched as the owner; the real dispatcher dispatches them.
    const big = 'x'.repeat(64 * 1024);
    await owner.query('BEGIN');
    await owner.query(`SELECT set_config('app.lab_id', $1, true)`, [String(s.labs.lab1)]);
    await owner.query(
      `INSERT INTO case_outbox (id, lab_id, case_id, case_number, seq, type, occurred_at, payload)
       SELECT lhcms_uuid_v7(), $1, $2, NULL, 1 + g, 'case.updated', now(),
              jsonb_build_object('changed_fields', jsonb_build_array('padding'), 'pad', $3::text)
         FROM generate_series(1, 120) g`,
      [String(s.labs.lab1), caseId, big],
    );
    await owner.query('COMMIT');
    const closedTooSlow = async () => {
      const m = (await request(s.api.url, '/metrics')).text;
      const line = m
        .split('\n')
        .find((l) => l.startsWith('lhcms_event_streams_closed_total{reason="too_slow"}'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    await eventually(async () => (await closedTooSlow()) >= 1, 15_000, 'the slow stream cut');
    // What reached the client before the cut, then the rest from the database.
    slow.res.resume();
    await slow.waitFor((x) => x.ended, 10_000, 'the end of the cut stream');
    const before = eventsOf(slow, caseId);
    expect(before.length).toBeLessThan(121);
    const all = (
      await owner.query<{ id: string }>(
        `SELECT id FROM case_outbox WHERE case_id = $1 ORDER BY stream_seq`,
        [caseId],
      )
    ).rows.map((r) => r.id);
    expect(all).toHaveLength(121);
    const resume = before.length > 0 ? before[before.length - 1].id : all[0];
    const rest = await sse({ token, labId: s.labs.lab1, lastEventId: resume });
    const want = all.slice(all.indexOf(resume) + 1);
    await rest.waitFor((x) => eventsOf(x, caseId).length >= want.length, 15_000, 'the rest');
    expect(eventsOf(rest, caseId).map((e) => e.id)).toEqual(want);
  });

  describe('token expiry', () => {
    let shortUms: UmsDevServer;
    beforeAll(async () => {
      // The same users and secret, tokens that live 3 s.
      shortUms = await startTestUms({ seed: s.seed.seed, accessTtlSeconds: 3 });
    });
    afterAll(() => shortUms?.close());

    it('ends the stream when the token expires', async () => {
      const token = await loginSeedUser(shortUms.url, 'viewer');
      const c = await sse({ token, labId: s.labs.lab1 });
      expect(c.status).toBe(200);
      const started = Date.now();
      await c.waitFor((x) => x.ended, 8000, 'the end of the stream');
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });

  it('two instances on one database: an event written through A arrives on a stream opened on B', async () => {
    const c = await sse({ token: await s.token('admin'), labId: s.labs.lab1 }, b.url);
    expect(c.status).toBe(200);
    const caseId = await createCase('admin', 'Cross-Replica');
    await moveTo('admin', caseId, 'in_progress');
    await c.waitFor((x) => eventsOf(x, caseId).length === 2, 10_000, 'the events on B');
    expect(eventsOf(c, caseId).map((e) => e.event)).toEqual([
      'case.created',
      'case.status_changed',
    ]);
  });

  it('a replica at EVENTS_STREAM_MAX_PER_REPLICA refuses with 503 and Retry-After; a shutdown ends the open streams instead of waiting for them', async () => {
    const env = testEnv({
      UMS_BASE_URL: s.ums.url,
      EVENTS_DISPATCHER: 'off',
      EVENTS_STREAM_HEARTBEAT_SECONDS: '1',
      EVENTS_STREAM_MAX_PER_REPLICA: '1',
    });
    const c3 = await startTestApi(env);
    const c = await sse({ token: await s.token('admin'), labId: s.labs.lab1 }, c3.url);
    expect(c.status).toBe(200);
    const full = await sse({ token: await s.token('viewer'), labId: s.labs.lab1 }, c3.url);
    expect(full.status).toBe(503);
    expect(full.res.headers['retry-after']).toBeDefined();
    expect(full.body).toMatchObject({ code: 503, error: 'Service Unavailable' });
    const started = Date.now();
    await c3.close();
    await c.waitFor((x) => x.ended, 5000, 'the end of the stream');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(c.text).toMatch(/stream closed \(shutdown\)/);
  });
});
