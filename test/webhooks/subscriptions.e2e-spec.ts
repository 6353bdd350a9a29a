import {
  type HttpResponse,
  isolatedSeed,
  LogCapture,
  loginSeedUser,
  request,
  type RequestOptions,
  startTestApi,
  startTestUms,
  testEnv,
  type TestApi,
} from '@lhcms/testing';
import type { UmsDevServer } from '@lhcms/ums-dev';
import type { Client } from 'pg';
import { PhiCipher } from '../../apps/api/src/encryption';
import { superuserClient } from '../audit/audit-test-helpers';

/** The cap of this suite (small, so the race at the cap is cheap). */
const CAP = 4;
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;
const BINDING = 'webhook_subscriptions.secret';
const ERROR_KEYS = ['code', 'error', 'message', 'request_id', 'timestamp'];
/** A local receiver: loopback is allowed outside production. Nothing is sent to it here. */
const LOCAL = 'http://127.0.0.1:9/hooks/lhcms';

/**
 * Webhook subscriptions over HTTP with real ums-dev tokens: the routes, lab
 * isolation, permissions, the cap (also under a concurrent race), secret
 * rotation and encryption at rest, every refused input in the one error
 * shape with nothing written, the audit rows, and no secret in any log line.
 * A second API runs with NODE_ENV=production for the HTTPS-only and
 * loopback rules.
 */
describe('webhook subscriptions (e2e)', () => {
  const logs = new LogCapture();
  const { seed, labs } = isolatedSeed();
  let ums: UmsDevServer;
  let api: TestApi;
  let prod: TestApi;
  let su: Client;
  let lab1: string;
  let lab2: string;
  const tokens = new Map<string, string>();
  /** Every secret handed out, to look for in logs and the audit trail. */
  const secrets: string[] = [];

  beforeAll(async () => {
    ums = await startTestUms({ seed });
    const env = {
      UMS_BASE_URL: ums.url,
      LOG_LEVEL: 'debug',
      WEBHOOKS_MAX_PER_LAB: String(CAP),
    };
    api = await startTestApi(testEnv(env), { logging: { destination: logs } });
    // The production API also turns the rotation overlap off.
    prod = await startTestApi(
      testEnv({ ...env, NODE_ENV: 'production', WEBHOOK_SECRET_OVERLAP_HOURS: '0' }),
      {
        logging: { destination: logs },
      },
    );
    su = await superuserClient();
    lab1 = String(labs.lab1);
    lab2 = String(labs.lab2);
  });
  afterAll(async () => {
    await su?.end();
    await prod?.close();
    await api?.close();
    await ums?.close();
  });

  const as = async (
    user: string,
    path: string,
    o: RequestOptions = {},
    on: TestApi = api,
  ): Promise<HttpResponse> => {
    let t = tokens.get(user);
    if (!t) {
      t = await loginSeedUser(ums.url, user);
      tokens.set(user, t);
    }
    return request(on.url, path, { ...o, token: t });
  };
  const create = async (body: unknown, user = 'admin', on: TestApi = api) => {
    const r = await as(user, '/api/v1/webhooks', { method: 'POST', body }, on);
    if (typeof r.body?.secret === 'string') secrets.push(r.body.secret);
    return r;
  };
  const patch = (id: string, body: unknown, user = 'admin') =>
    as(user, `/api/v1/webhooks/${id}`, { method: 'PATCH', body });
  const rotate = async (id: string, user = 'admin', body: unknown = {}) => {
    const r = await as(user, `/api/v1/webhooks/${id}/rotate-secret`, { method: 'POST', body });
    if (typeof r.body?.secret === 'string') secrets.push(r.body.secret);
    return r;
  };
  const remove = (id: string, user = 'admin') =>
    as(user, `/api/v1/webhooks/${id}`, { method: 'DELETE' });
  const stored = async (id: string) =>
    (await su.query(`SELECT * FROM webhook_subscriptions WHERE id = $1`, [id])).rows[0];
  const countIn = async (lab: string) =>
    (
      await su.query(`SELECT count(*)::int AS n FROM webhook_subscriptions WHERE lab_id = $1`, [
        lab,
      ])
    ).rows[0].n as number;
  const clear = (lab: string) =>
    su.query(`DELETE FROM webhook_subscriptions WHERE lab_id = $1`, [lab]);
  const decrypt = (lab: string, value: string) =>
    api.app.get(PhiCipher).decryptText(lab, BINDING, value);
  // Each test starts from a lab without subscriptions (the cap is small).
  beforeEach(() => clear(lab1));

  function expectRefused(res: HttpResponse, status: number) {
    expect([res.status, res.text]).toEqual([status, expect.any(String)]);
    expect(
      Object.keys(res.body)
        .filter((k) => !['errors', 'limit', 'missing_permission'].includes(k))
        .sort(),
    ).toEqual(ERROR_KEYS);
    expect(res.body.code).toBe(status);
    return res.body;
  }

  it('an admin subscribes (201, Location, the secret once), reads, lists, changes and deletes', async () => {
    const r = await create({ url: LOCAL, events: ['case.created', 'case.status_changed'] });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: LOCAL,
      events: ['case.created', 'case.status_changed'],
      active: true,
      created_by: expect.any(String),
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
      updated_at: expect.any(String),
      previous_secret_expires_at: null,
      secret: expect.stringMatching(SECRET),
    });
    const id = r.body.id as string;
    expect(r.headers.get('location')).toBe(`/api/v1/webhooks/${id}`);

    const { secret, ...shown } = r.body;
    expect(secret).toMatch(SECRET);
    const got = await as('admin', `/api/v1/webhooks/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(shown);
    expect(got.text).not.toContain('whsec_');

    const second = await create({
      url: 'http://localhost:9/other',
      events: ['case.deleted'],
      active: false,
    });
    expect(second.status).toBe(201);
    expect(second.body.active).toBe(false);
    expect(second.body.secret).not.toBe(secret);

    const list = await as('admin', '/api/v1/webhooks');
    expect(list.status).toBe(200);
    const { secret: secondSecret, ...secondShown } = second.body;
    expect(secondSecret).toMatch(SECRET);
    expect(list.body).toEqual({ webhooks: [shown, secondShown] });
    expect(list.text).not.toContain('whsec_');

    const changed = await patch(id, { active: false, events: ['case.deleted'] });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id, url: LOCAL, events: ['case.deleted'], active: false });
    expect(changed.body.secret).toBeUndefined();
    expect(Date.parse(changed.body.updated_at)).toBeGreaterThanOrEqual(
      Date.parse(r.body.updated_at),
    );
    const moved = await patch(id, { url: 'http://[::1]:9/moved' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      url: 'http://[::1]:9/moved',
      events: ['case.deleted'],
      active: false,
    });
    // The secret did not change with the edits.
    expect(await decrypt(lab1, (await stored(id)).secret)).toBe(secret);

    const del = await remove(id);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await as('admin', `/api/v1/webhooks/${id}`)).status).toBe(404);
    expect(await stored(id)).toBeUndefined();
    expect((await remove(id)).status).toBe(404);
    expect((await as('admin', '/api/v1/webhooks')).body.webhooks.map((w: any) => w.id)).toEqual([
      second.body.id,
    ]);
  });

  it('stores the secret encrypted (not the plain value), bound to the lab', async () => {
    const r = await create({ url: LOCAL, events: ['case.created'] });
    expect(r.status).toBe(201);
    const row = await stored(r.body.id);
    expect(row.secret).not.toBe(r.body.secret);
    expect(row.secret).not.toContain(r.body.secret.slice(6));
    expect(row.previous_secret).toBeNull();
    expect(await decrypt(lab1, row.secret)).toBe(r.body.secret);
    await expect(decrypt(lab2, row.secret)).rejects.toThrow();
  });

  it('rotation: a new secret, shown once; the previous one stays (encrypted) until the overlap ends', async () => {
    const r = await create({ url: LOCAL, events: ['case.created'] });
    const id = r.body.id as string;
    const first = r.body.secret as string;
    const before = Date.now();
    const rot = await rotate(id);
    expect(rot.status).toBe(200);
    expect(rot.body).toMatchObject({ id, url: LOCAL, events: ['case.created'], active: true });
    expect(rot.body.secret).toMatch(SECRET);
    expect(rot.body.secret).not.toBe(first);
    const until = Date.parse(rot.body.previous_secret_expires_at);
    expect(until).toBeGreaterThanOrEqual(before + 24 * 3600_000 - 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 24 * 3600_000 + 60_000);

    let row = await stored(id);
    expect(row.secret).not.toContain(rot.body.secret.slice(6));
    expect(row.previous_secret).not.toContain(first.slice(6));
    expect(await decrypt(lab1, row.secret)).toBe(rot.body.secret);
    expect(await decrypt(lab1, row.previous_secret)).toBe(first);
    // The read shows when the previous secret stops, never a secret.
    const got = await as('admin', `/api/v1/webhooks/${id}`);
    expect(got.body.previous_secret_expires_at).toBe(rot.body.previous_secret_expires_at);
    expect(got.text).not.toContain('whsec_');

    // A second rotation: the previous secret is now the second one.
    const again = await rotate(id);
    expect(again.status).toBe(200);
    row = await stored(id);
    expect(await decrypt(lab1, row.secret)).toBe(again.body.secret);
    expect(await decrypt(lab1, row.previous_secret)).toBe(rot.body.secret);

    // Once the overlap has passed, the subscription no longer shows one.
    await su.query(
      `UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    expect(
      (await as('admin', `/api/v1/webhooks/${id}`)).body.previous_secret_expires_at,
    ).toBeNull();
  });

  it("another lab's subscription is invisible: 404 on every route, absent from the list, untouched", async () => {
    const mine = await create({ url: LOCAL, events: ['case.created'] });
    const id = mine.body.id as string;
    const snapshot = await stored(id);
    const theirs = await as('lab2admin', '/api/v1/webhooks');
    expect(theirs.status).toBe(200);
    expect(theirs.body.webhooks.map((w: any) => w.id)).not.toContain(id);
    for (const res of [
      await as('lab2admin', `/api/v1/webhooks/${id}`),
      await patch(id, { active: false }, 'lab2admin'),
      await rotate(id, 'lab2admin'),
      await remove(id, 'lab2admin'),
    ]) {
      expect(expectRefused(res, 404).message).toBe('Webhook subscription not found');
    }
    expect(await stored(id)).toEqual(snapshot);
    // A lab2 subscription is not in lab1's list either.
    const other = await create({ url: LOCAL, events: ['case.deleted'] }, 'lab2admin');
    expect(other.status).toBe(201);
    const list = await as('admin', '/api/v1/webhooks');
    expect(list.body.webhooks.map((w: any) => w.id)).not.toContain(other.body.id);
    expect(await remove(other.body.id, 'lab2admin')).toMatchObject({ status: 204 });
  });

  it('members and viewers get 403 on every route; nothing changes', async () => {
    const mine = await create({ url: LOCAL, events: ['case.created'] });
    const id = mine.body.id as string;
    const snapshot = await stored(id);
    const count = await countIn(lab1);
    for (const user of ['tech', 'viewer']) {
      for (const res of [
        await as(user, '/api/v1/webhooks'),
        await as(user, `/api/v1/webhooks/${id}`),
        await create({ url: LOCAL, events: ['case.created'] }, user),
        await patch(id, { active: false }, user),
        await rotate(id, user),
        await remove(id, user),
      ]) {
        expectRefused(res, 403);
      }
    }
    expect(await stored(id)).toEqual(snapshot);
    expect(await countIn(lab1)).toBe(count);
  });

  it(`the cap (${CAP} per lab): one more is 409 WEBHOOK_LIMIT; concurrent creates at the cap never pass it`, async () => {
    await clear(lab2);
    for (let i = 0; i < CAP - 1; i++)
      expect((await create({ url: LOCAL, events: ['case.created'] }, 'lab2admin')).status).toBe(
        201,
      );
    // CAP - 1 exist: of 8 concurrent creates exactly one fits.
    const race = await Promise.all(
      Array.from({ length: 8 }, () =>
        create({ url: LOCAL, events: ['case.created'] }, 'lab2admin'),
      ),
    );
    expect(race.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(await countIn(lab2)).toBe(CAP);
    const over = await create({ url: LOCAL, events: ['case.created'] }, 'lab2admin');
    const body = expectRefused(over, 409);
    expect(body.message).toMatch(/most webhook subscriptions allowed \(4\)/);
    expect(body.limit).toBe(CAP);
    // Another lab is not affected by lab2's count; a deletion makes room.
    expect((await create({ url: LOCAL, events: ['case.created'] })).status).toBe(201);
    const one = (await as('lab2admin', '/api/v1/webhooks')).body.webhooks[0].id as string;
    expect((await remove(one, 'lab2admin')).status).toBe(204);
    expect((await create({ url: LOCAL, events: ['case.created'] }, 'lab2admin')).status).toBe(201);
    expect(await countIn(lab2)).toBe(CAP);
    await clear(lab2);
  });

  it('deleting a subscription deletes its delivery log (foreign key cascade)', async () => {
    const c = await as('admin', '/api/v1/cases/', {
      method: 'POST',
      body: { doctor_id: 'wh-doc', product_id: 'p', case_type: 'other' },
    });
    expect(c.status).toBe(201);
    const [event] = (
      await su.query(`SELECT id, position, case_id FROM case_outbox WHERE case_id = $1`, [
        c.body.id,
      ])
    ).rows;
    const sub = await create({ url: LOCAL, events: ['case.created'] });
    await su.query(
      `INSERT INTO webhook_deliveries (lab_id, subscription_id, event_id, case_id, position)
       VALUES ($1, $2, $3, $4, $5)`,
      [lab1, sub.body.id, event.id, event.case_id, event.position],
    );
    expect((await remove(sub.body.id)).status).toBe(204);
    const left = await su.query(`SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1`, [
      sub.body.id,
    ]);
    expect(left.rowCount).toBe(0);
  });

  describe('refused input: 400 in the one error shape naming the field, nothing written', () => {
    const ok = { url: LOCAL, events: ['case.created'] };
    it.each([
      ['no body fields', {}, 'url'],
      ['no events', { url: LOCAL }, 'events'],
      ['not a URL', { ...ok, url: 'not a url' }, 'url'],
      ['a relative URL', { ...ok, url: '/hooks' }, 'url'],
      ['an ftp URL', { ...ok, url: 'ftp://127.0.0.1/x' }, 'url'],
      ['credentials in the URL', { ...ok, url: 'http://user:pw@127.0.0.1:9/x' }, 'url'],
      ['a fragment', { ...ok, url: 'http://127.0.0.1:9/x#y' }, 'url'],
      ['a URL over 2048 characters', { ...ok, url: `http://127.0.0.1/${'a'.repeat(2040)}` }, 'url'],
      ['a private address', { ...ok, url: 'http://10.0.0.1/x' }, 'url'],
      ['a 192.168 address', { ...ok, url: 'https://192.168.1.20/x' }, 'url'],
      ['the metadata address', { ...ok, url: 'http://169.254.169.254/latest/meta-data/' }, 'url'],
      ['the metadata address in hex', { ...ok, url: 'http://0xa9fea9fe/' }, 'url'],
      ['a private address in decimal', { ...ok, url: 'http://167772161/' }, 'url'],
      ['a CGNAT address', { ...ok, url: 'http://100.64.0.1/' }, 'url'],
      ['the unspecified address', { ...ok, url: 'http://0.0.0.0:9/' }, 'url'],
      ['multicast', { ...ok, url: 'http://224.0.0.1/' }, 'url'],
      ['broadcast', { ...ok, url: 'http://255.255.255.255/' }, 'url'],
      ['IPv6 unique-local', { ...ok, url: 'http://[fd00::1]/' }, 'url'],
      ['IPv6 link-local', { ...ok, url: 'http://[fe80::1]/' }, 'url'],
      ['IPv4-mapped private', { ...ok, url: 'http://[::ffff:10.0.0.1]/' }, 'url'],
      ['NAT64 of a private address', { ...ok, url: 'http://[64:ff9b::a00:1]/' }, 'url'],
      ['a host name that does not resolve', { ...ok, url: 'http://no-such-host.invalid/' }, 'url'],
      ['an unknown event type', { ...ok, events: ['case.exploded'] }, 'events.0'],
      ['a wildcard', { ...ok, events: ['*'] }, 'events.0'],
      ['empty events', { ...ok, events: [] }, 'events'],
      ['a repeated event type', { ...ok, events: ['case.created', 'case.created'] }, 'events'],
      ['events not a list', { ...ok, events: 'case.created' }, 'events'],
      ['active not a boolean', { ...ok, active: 'yes' }, 'active'],
      ['an unknown field', { ...ok, secret: 'whsec_mine' }, 'secret'],
      ['url not a string', { ...ok, url: 42 }, 'url'],
    ])('create with %s', async (_, body, field) => {
      const count = await countIn(lab1);
      const res = await create(body);
      expect(expectRefused(res, 400).message).toBe('Input payload validation failed');
      expect(Object.keys(res.body.errors)).toContain(field);
      expect(await countIn(lab1)).toBe(count);
    });

    it('a refused URL is never repeated back', async () => {
      const url = 'http://10.9.8.7/hook?token=tok-4711-marker';
      const res = await create({ ...ok, url });
      expectRefused(res, 400);
      expect(res.text).not.toContain('tok-4711-marker');
      expect(res.text).not.toContain('10.9.8.7');
    });

    it('PATCH: nothing to change, a refused URL, unknown fields, bad events; the subscription unchanged', async () => {
      const sub = await create(ok);
      const id = sub.body.id as string;
      const snapshot = await stored(id);
      for (const [body, field] of [
        [{}, ''],
        [{ url: 'http://169.254.169.254/' }, 'url'],
        [{ url: 'http://[::ffff:a00:1]:9/x' }, 'url'],
        [{ url: 'not a url' }, 'url'],
        [{ events: [] }, 'events'],
        [{ events: ['case.nope'] }, 'events.0'],
        [{ active: null }, 'active'],
        [{ secret: 'x' }, 'secret'],
        [{ id: 'x', active: true }, 'id'],
      ] as const) {
        const res = await patch(id, body);
        expectRefused(res, 400);
        expect([body, Object.keys(res.body.errors)]).toEqual([
          body,
          expect.arrayContaining([field]),
        ]);
      }
      expect(await stored(id)).toEqual(snapshot);
    });

    it('rotate-secret takes `{}`: a field is 400, no JSON body 415; nothing rotated', async () => {
      const sub = await create(ok);
      const snapshot = await stored(sub.body.id);
      const field = await rotate(sub.body.id, 'admin', { secret: 'whsec_mine' });
      expect(expectRefused(field, 400).errors).toEqual({ secret: 'is not a known field' });
      const none = await as('admin', `/api/v1/webhooks/${sub.body.id}/rotate-secret`, {
        method: 'POST',
      });
      expectRefused(none, 415);
      expect(await stored(sub.body.id)).toEqual(snapshot);
    });

    it('the list takes no query parameters (no paging: the cap bounds it)', async () => {
      const res = await as('admin', '/api/v1/webhooks?limit=5&page=2');
      expect(expectRefused(res, 400).errors).toEqual({
        limit: 'is not a parameter of this list',
        page: 'is not a parameter of this list',
      });
    });

    it('a malformed id is 400 naming id; a well-formed unknown id is 404', async () => {
      const bad = 'not-a-uuid';
      for (const res of [
        await as('admin', `/api/v1/webhooks/${bad}`),
        await patch(bad, { active: true }),
        await rotate(bad),
        await remove(bad),
      ]) {
        expect(expectRefused(res, 400).errors).toEqual({ id: 'is not a UUID' });
      }
      const unknown = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
      for (const res of [
        await as('admin', `/api/v1/webhooks/${unknown}`),
        await patch(unknown, { active: true }),
        await rotate(unknown),
        await remove(unknown),
      ]) {
        expect(expectRefused(res, 404).message).toBe('Webhook subscription not found');
      }
    });
  });

  describe('in production (NODE_ENV=production)', () => {
    it.each([
      ['http, even to a public address', 'http://93.184.215.14/hook', 'must use https'],
      ['loopback', 'https://127.0.0.1/hook', 'non-public'],
      ['loopback in decimal', 'https://2130706433/hook', 'non-public'],
      ['loopback in hex', 'https://0x7f.1/hook', 'non-public'],
      ['IPv6 loopback', 'https://[::1]/hook', 'non-public'],
      ['IPv4-mapped loopback', 'https://[::ffff:7f00:1]/hook', 'non-public'],
      [
        'a name that resolves to loopback (DNS)',
        'https://localhost/hook',
        'resolves to a non-public',
      ],
    ])('refuses %s', async (_, url, reason) => {
      const res = await create({ url, events: ['case.created'] }, 'admin', prod);
      expect(expectRefused(res, 400).errors.url).toContain(reason);
    });

    it('accepts an https URL on a public address; with WEBHOOK_SECRET_OVERLAP_HOURS=0 a rotation keeps no previous secret', async () => {
      const res = await create(
        { url: 'https://93.184.215.14/hook', events: ['case.created'] },
        'admin',
        prod,
      );
      expect(res.status).toBe(201);
      const rot = await as(
        'admin',
        `/api/v1/webhooks/${res.body.id}/rotate-secret`,
        { method: 'POST', body: {} },
        prod,
      );
      expect(rot.status).toBe(200);
      secrets.push(rot.body.secret);
      expect(rot.body.previous_secret_expires_at).toBeNull();
      const row = await stored(res.body.id);
      expect(row.previous_secret).toBeNull();
      expect(row.previous_secret_expires_at).toBeNull();
      expect(await decrypt(lab1, row.secret)).toBe(rot.body.secret);
      expect((await remove(res.body.id)).status).toBe(204);
    });
  });

  it('audits every write (ids, event types, flags; never the URL or a secret) and refusals', async () => {
    const since = new Date(Date.now() - 1000);
    const url = 'http://127.0.0.1:9/audit?token=audit-url-marker';
    const sub = await create({ url, events: ['case.created'] });
    const id = sub.body.id as string;
    await patch(id, { url: `${url}2`, events: ['case.deleted'], active: false });
    await rotate(id);
    await remove(id);
    await create({ url, events: ['case.created'] }, 'tech');
    const rows = (
      await su.query(
        `SELECT interaction, resource_type, resource_id, outcome, http_status, changed_fields, route
           FROM audit_events WHERE lab_id = $1 AND route LIKE '/api/v1/webhooks%' AND occurred_at >= $2
           ORDER BY seq`,
        [lab1, since],
      )
    ).rows;
    const mine = rows.filter((r) => r.resource_id === id);
    expect(mine.map((r) => [r.interaction, r.http_status, r.outcome])).toEqual([
      ['create', 201, 'success'],
      ['update', 200, 'success'],
      ['update', 200, 'success'],
      ['delete', 204, 'success'],
    ]);
    expect(mine.every((r) => r.resource_type === 'webhook_subscription')).toBe(true);
    expect(mine[0].changed_fields).toEqual([
      { field: 'url' },
      { field: 'events', new: ['case.created'] },
      { field: 'active', new: true },
      { field: 'secret' },
    ]);
    expect(mine[1].changed_fields).toEqual([
      { field: 'url' },
      { field: 'events', old: ['case.created'], new: ['case.deleted'] },
      { field: 'active', old: true, new: false },
    ]);
    expect(mine[2].changed_fields).toEqual([{ field: 'secret' }, { field: 'previous_secret' }]);
    expect(rows.some((r) => r.outcome === 'denied' && r.http_status === 403)).toBe(true);
    expect(JSON.stringify(rows)).not.toContain('audit-url-marker');
    const all = (
      await su.query(
        `SELECT row_to_json(a)::text AS t FROM audit_events a WHERE lab_id IN ($1, $2)`,
        [lab1, lab2],
      )
    ).rows.map((r) => r.t as string);
    for (const s of secrets) expect(all.some((t) => t.includes(s.slice(6)))).toBe(false);
  });

  it('no secret reaches a log line', () => {
    expect(secrets.length).toBeGreaterThan(10);
    const text = logs.raw();
    expect(text.length).toBeGreaterThan(0);
    for (const s of secrets) expect(text.includes(s.slice(6))).toBe(false);
  });
});
