import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ownTestDatabase, startStack, type Stack, type OwnTestDatabase } from '@lhcms/testing';
import { NatsSink, type OutboxEvent, subjectOf } from '../../apps/api/src/events';

// npm test sets TEST_NATS_URL (the machine's NATS at 127.0.0.1:4222, or a throwaway one).
const NATS_URL = process.env.TEST_NATS_URL;
const describeWithNats = NATS_URL ? describe : describe.skip;

interface Received {
  subject: string;
  msgId: string | undefined;
  event: OutboxEvent;
}

/**
 * The NATS JetStream sink against the real NATS server (JetStream enabled)
 * the machine runs at 127.0.0.1:4222 (TEST_NATS_URL): the API with
 * EVENTS_NATS_URL publishes committed events to `<prefix>.<lab>.<type>` with
 * the event id as message id, in per-case order, and marks them dispatched;
 * a re-send of an event is dropped by JetStream as a duplicate. A stream and
 * subject prefix of its own per run.
 */
describeWithNats(
  `case outbox → NATS JetStream${NATS_URL ? '' : ' (skipped: TEST_NATS_URL is unset — npm test sets it when a NATS server is at hand)'}`,
  () => {
    const run = `t${randomInt(1e9)}`;
    const stream = `LHCMS_TEST_${run}`;
    const prefix = `lhcmstest${run}`;
    let db: OwnTestDatabase;
    let s: Stack;
    let owner: Client;
    let nc: NatsConnection;
    let jsm: JetStreamManager;

    beforeAll(async () => {
      nc = await connect({ servers: NATS_URL, timeout: 5000 });
      jsm = await jetstreamManager(nc);
      // A database of its own: every other dispatcher (without this sink) would take its events.
      db = await ownTestDatabase('lhcms_nats');
      s = await startStack({
        env: {
          ...db.env,
          EVENTS_DISPATCHER: 'on',
          EVENTS_NATS_URL: NATS_URL,
          EVENTS_NATS_STREAM: stream,
          EVENTS_NATS_SUBJECT_PREFIX: prefix,
          EVENTS_DISPATCH_INTERVAL_MS: '50',
        },
      });
      owner = new Client({ connectionString: db.ownerUrl });
      await owner.connect();
    });
    afterAll(async () => {
      await owner?.end();
      await s?.close();
      await jsm?.streams.delete(stream).catch(() => undefined);
      await nc?.close();
      await db?.drop();
    });

    /** Every message of the stream on subjects of this lab, in stream order. */
    async function received(lab: string): Promise<Received[]> {
      const info = await jsm.streams.info(stream);
      const out: Received[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m || !m.subject.startsWith(`${prefix}.${lab}.`)) continue;
        out.push({
          subject: m.subject,
          msgId: m.header?.get('Nats-Msg-Id'),
          event: m.json<OutboxEvent>(),
        });
      }
      return out;
    }

    async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
      const end = Date.now() + 15_000;
      for (;;) {
        const v = await fn();
        if (ok(v) || Date.now() > end) return v;
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    it('publishes committed events to <prefix>.<lab>.<type>, message id = event id, per-case seq order, and marks them dispatched', async () => {
      const user = 'admin';
      const created = await s.as(user, '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'nats-doc', product_id: 'p', case_type: 'other' },
      });
      expect(created.status).toBe(201);
      const id = created.body.id as number;
      const lab = created.body.lab_id as string;
      for (const status of ['in_progress', 'on_hold', 'in_progress']) {
        const r = await s.as(user, `/api/v1/cases/${id}/status`, {
          method: 'PATCH',
          body: { status, reason: 'nats test' },
        });
        expect(r.status).toBe(200);
      }
      const rows = await until(
        async () =>
          (
            await owner.query<{
              id: string;
              seq: number;
              dispatched: boolean;
              stream_seq: string | null;
            }>(
              `SELECT id::text, seq::int AS seq, dispatched_at IS NOT NULL AS dispatched, stream_seq
               FROM case_outbox WHERE case_id = $1 ORDER BY seq`,
              [id],
            )
          ).rows,
        (r) => r.length === 4 && r.every((x) => x.dispatched),
      );
      expect(rows.map((r) => r.dispatched)).toEqual([true, true, true, true]);
      // Dispatching numbers them on the stream (the live feed's order), in seq order.
      const streamSeqs = rows.map((r) => Number(r.stream_seq));
      expect(streamSeqs.every((n) => Number.isInteger(n) && n > 0)).toBe(true);
      expect([...streamSeqs].sort((a, b) => a - b)).toEqual(streamSeqs);
      expect(new Set(streamSeqs).size).toBe(4);
      const got = (await received(lab)).filter((m) => m.event.case_id === id);
      expect(got.map((m) => [m.event.seq, m.subject])).toEqual([
        [1, `${prefix}.${lab}.case.created`],
        [2, `${prefix}.${lab}.case.status_changed`],
        [3, `${prefix}.${lab}.case.status_changed`],
        [4, `${prefix}.${lab}.case.status_changed`],
      ]);
      expect(got.map((m) => m.msgId)).toEqual(rows.map((r) => r.id));
      expect(got.map((m) => m.event.id)).toEqual(rows.map((r) => r.id));
      expect(got[1].event).toMatchObject({
        type: 'case.status_changed',
        lab_id: lab,
        case_id: id,
        payload: { from_status: 'pending', to_status: 'in_progress' },
      });
      expect(JSON.stringify(got)).not.toContain('nats test'); // the reason is free text: never sent
      // The dispatcher reports the outbox lag.
      const metrics = await until(
        async () => (await fetch(`${s.api.url}/metrics`)).text(),
        (t) => /^lhcms_outbox_undispatched_events \d+/m.test(t),
      );
      expect(metrics).toMatch(/^lhcms_outbox_lag_seconds \d/m);
    });

    it('a re-send of an event (at least once) is one message in the stream: JetStream de-duplicates by event id', async () => {
      // An event this stream already has (other suites' dispatchers share the database, so
      // "some dispatched event" may have gone to none of this stream's subjects).
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBeGreaterThan(0);
      const first = await jsm.streams.getMessage(stream, { seq: info.state.first_seq });
      expect(first).not.toBeNull();
      const row = first!.json<OutboxEvent>();
      const before = info.state.messages;
      const sink = new NatsSink([NATS_URL ?? ''], stream, prefix);
      try {
        await sink.publish([row, row]);
      } finally {
        await sink.close();
      }
      expect((await jsm.streams.info(stream)).state.messages).toBe(before);
      const ack = await jetstream(nc).publish(subjectOf(prefix, row), JSON.stringify(row), {
        msgID: row.id,
      });
      expect(ack.duplicate).toBe(true);
    });

    it('only one dispatcher leases at a time: a second transaction gets nothing while the first holds the lease', async () => {
      const app1 = new Client({ connectionString: db.appUrl });
      const app2 = new Client({ connectionString: db.appUrl });
      await app1.connect();
      await app2.connect();
      try {
        await app1.query('BEGIN');
        await app2.query('BEGIN');
        // app1 takes the dispatch lock (the stack's own dispatcher now leases nothing either) …
        await app1.query(`SELECT * FROM lhcms_outbox_lease(10)`);
        // … an undispatched event arrives, which app1 can lease and app2 cannot.
        const caseId = 2_000_000_000 + randomInt(1e8);
        const [{ id }] = (
          await owner.query<{ id: string }>(
            `INSERT INTO case_outbox (id, lab_id, case_id, seq, type, occurred_at, payload)
           VALUES (lhcms_uuid_v7(), 'nats-lease-lab', $1, 1, 'case.deleted', now(), '{}')
           RETURNING id::text`,
            [caseId],
          )
        ).rows;
        const first = await app1.query<{ id: string }>(
          `SELECT id::text FROM lhcms_outbox_lease(1000)`,
        );
        expect(first.rows.map((r) => r.id)).toContain(id);
        const second = await app2.query(`SELECT * FROM lhcms_outbox_lease(1000)`);
        expect(second.rows).toEqual([]);
      } finally {
        await app1.query('ROLLBACK');
        await app2.query('ROLLBACK');
        await app1.end();
        await app2.end();
      }
    });
  },
);
