import { randomUUID } from 'node:crypto';
import { eventually, startStack, type Stack, testDatabaseUrls } from '@lhcms/testing';
import { Client } from 'pg';
import {
  AUDIT_APPLICATION_NAME,
  AUDIT_CONNECTIONS,
  AuditConnections,
} from '../../apps/api/src/audit/audit-connections';
import { AuditSealer } from '../../apps/api/src/audit/audit-sealer';
import { nothingHeldBack, superuserClient } from './audit-test-helpers';

const MARKER = 'PHI-MARKER-Fail-Closed-5521';

/**
 * Fail closed (a write and its audit row commit together or not at all; a
 * read whose audit row cannot be written is a 503 without PHI), append-only
 * by privilege, lab-scoped review, and the review routes audited.
 */
describe('audit guarantees (e2e)', () => {
  let s: Stack;
  let su: Client;
  let lab1: string;
  let caseId: number;
  const trigger = `audit_fail_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

  beforeAll(async () => {
    s = await startStack();
    lab1 = String(s.labs.lab1);
    su = await superuserClient();
    caseId = (
      await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: {
          doctor_id: 'fc-doc',
          product_id: 'p',
          case_type: 'other',
          case_name: MARKER,
          patient_info: { patient_id: MARKER },
        },
      })
    ).body.id;
  });
  afterAll(async () => {
    await su.query(`DROP TRIGGER IF EXISTS ${trigger} ON audit_events`).catch(() => undefined);
    await su.end();
    await s.close();
  });

  describe('when the audit insert fails (a real trigger refusing this lab`s rows)', () => {
    beforeAll(async () => {
      await su.query(`CREATE OR REPLACE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit store refuses'; END $$`);
      await su.query(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON audit_events FOR EACH ROW
         WHEN (NEW.lab_id = '${lab1}') EXECUTE FUNCTION ${trigger}()`,
      );
    });
    afterAll(async () => {
      await su.query(`DROP TRIGGER ${trigger} ON audit_events`);
      await su.query(`DROP FUNCTION ${trigger}()`);
    });

    it('a read is a 503 in the one error shape, with no PHI', async () => {
      for (const path of [`/api/v1/cases/${caseId}`, '/api/v1/cases/?doctor_id=fc-doc']) {
        const res = await s.as('admin', path);
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ code: 503, message: 'Audit trail unavailable' });
        expect(res.text).not.toContain(MARKER);
      }
    });

    it('a create is rolled back with its audit row', async () => {
      const res = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: { doctor_id: 'fc-doc-rolled-back', product_id: 'p', case_type: 'other' },
      });
      expect(res.status).toBe(503);
      const n = await su.query(
        `SELECT count(*)::int AS n FROM cases WHERE doctor_id = 'fc-doc-rolled-back'`,
      );
      expect(n.rows[0].n).toBe(0);
    });

    it('an update and a delete are rolled back with their audit rows', async () => {
      const put = await s.as('admin', `/api/v1/cases/${caseId}`, {
        method: 'PUT',
        body: { priority: 'high', status: 'on_hold' },
      });
      expect(put.status).toBe(503);
      const del = await s.as('admin', `/api/v1/cases/${caseId}`, { method: 'DELETE' });
      expect(del.status).toBe(503);
      const row = await su.query(`SELECT priority, status, deleted_at FROM cases WHERE id = $1`, [
        caseId,
      ]);
      expect(row.rows[0]).toEqual({ priority: 'medium', status: 'pending', deleted_at: null });
    });
  });

  describe('connections (a real trigger noting the session that inserts each row)', () => {
    const probe = `audit_probe_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    beforeAll(async () => {
      await su.query(`CREATE TABLE ${probe} (tbl text, request_id text, app text)`);
      await su.query(`CREATE FUNCTION ${probe}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        BEGIN
          INSERT INTO ${probe}
            VALUES (TG_TABLE_NAME, to_jsonb(NEW)->>'request_id', current_setting('application_name'));
          RETURN NEW;
        END $$`);
      await su.query(`CREATE TRIGGER ${probe} AFTER INSERT ON audit_events FOR EACH ROW
        WHEN (NEW.lab_id = '${lab1}') EXECUTE FUNCTION ${probe}()`);
      await su.query(`CREATE TRIGGER ${probe} AFTER INSERT ON audit_chain FOR EACH ROW
        EXECUTE FUNCTION ${probe}()`);
    });
    afterAll(async () => {
      await su.query(`DROP TRIGGER IF EXISTS ${probe} ON audit_events`);
      await su.query(`DROP TRIGGER IF EXISTS ${probe} ON audit_chain`);
      await su.query(`DROP FUNCTION IF EXISTS ${probe}()`);
      await su.query(`DROP TABLE IF EXISTS ${probe}`);
    });

    it('reads are group-committed and sealed on the audit trail`s own few connections; a write`s row stays in its transaction', async () => {
      const rid = `conn-${randomUUID()}`;
      const reads = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          s.as('admin', i % 2 ? `/api/v1/cases/${caseId}` : '/api/v1/cases/?doctor_id=fc-doc', {
            headers: { 'x-request-id': `${rid}-r${i}` },
          }),
        ),
      );
      for (const r of reads) expect(r.status).toBe(200);
      const write = await s.as('admin', `/api/v1/cases/${caseId}`, {
        method: 'PUT',
        body: { priority: 'high' },
        headers: { 'x-request-id': `${rid}-w` },
      });
      expect(write.status).toBe(200);
      await nothingHeldBack(su);
      await s.api.app.get(AuditSealer).sealNow();
      // The run's other API instances seal the same database: when one of them holds the sealer
      // lock, sealNow() returns at once and that instance's round commits a moment later.
      const noted = await eventually(
        async () => {
          const r = await su.query<{ tbl: string; request_id: string | null; app: string }>(
            `SELECT tbl, request_id, app FROM ${probe}`,
          );
          return r.rows.some((x) => x.tbl === 'audit_chain') ? r : undefined;
        },
        10_000,
        'a sealing round after the requests',
      );
      const events = noted.rows.filter((r) => r.request_id?.startsWith(rid));
      expect(events.filter((r) => r.request_id!.includes('-r')).map((r) => r.app)).toEqual(
        Array(12).fill(AUDIT_APPLICATION_NAME),
      );
      expect(events.filter((r) => r.request_id === `${rid}-w`).map((r) => r.app)).toEqual([
        'lhcms-api',
      ]);
      const chained = noted.rows.filter((r) => r.tbl === 'audit_chain');
      expect(chained.length).toBeGreaterThan(0);
      expect(new Set(chained.map((r) => r.app))).toEqual(new Set([AUDIT_APPLICATION_NAME]));
      const pool = s.api.app.get(AuditConnections).get();
      expect(pool.totalCount).toBeGreaterThan(0);
      expect(pool.totalCount).toBeLessThanOrEqual(AUDIT_CONNECTIONS);
    });
  });

  describe('group commit (a real trigger making each batch slow)', () => {
    const probe = `audit_slow_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const rid = `gc-${randomUUID()}`;
    beforeAll(async () => {
      await su.query(`CREATE TABLE ${probe} (tx text, at timestamptz)`);
      // 40 ms per row of this test's reads: a batch is still committing when the next reads arrive.
      await su.query(`CREATE FUNCTION ${probe}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        BEGIN
          INSERT INTO ${probe} VALUES (NEW.tx_id::text, clock_timestamp());
          PERFORM pg_sleep(0.04);
          INSERT INTO ${probe} VALUES (NEW.tx_id::text, clock_timestamp());
          RETURN NEW;
        END $$`);
      await su.query(`CREATE TRIGGER ${probe} AFTER INSERT ON audit_events FOR EACH ROW
        WHEN (NEW.request_id LIKE '${rid}%') EXECUTE FUNCTION ${probe}()`);
    });
    afterAll(async () => {
      await su.query(`DROP TRIGGER IF EXISTS ${probe} ON audit_events`);
      await su.query(`DROP FUNCTION IF EXISTS ${probe}()`);
      await su.query(`DROP TABLE IF EXISTS ${probe}`);
    });

    it('writes one batch at a time by default: reads arriving during a commit wait and share the next batch', async () => {
      const reads: Array<Promise<{ status: number }>> = [];
      for (let i = 0; i < 8; i++) {
        reads.push(
          s.as('admin', `/api/v1/cases/${caseId}`, { headers: { 'x-request-id': `${rid}-${i}` } }),
        );
        await new Promise((r) => setTimeout(r, 15));
      }
      for (const r of await Promise.all(reads)) expect(r.status).toBe(200);
      const spans = (
        await su.query<{ tx: string; rows: number; first: Date; last: Date }>(
          `SELECT tx, count(*)::int / 2 AS rows, min(at) AS first, max(at) AS last
           FROM ${probe} GROUP BY tx ORDER BY min(at)`,
        )
      ).rows;
      expect(spans.reduce((n, b) => n + b.rows, 0)).toBe(8);
      // Spread over 105 ms against 40 ms per row: more than one batch, and some shared.
      expect(spans.length).toBeGreaterThan(1);
      expect(spans.length).toBeLessThan(8);
      // No batch began before the one ahead of it had finished its rows.
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i].first.getTime()).toBeGreaterThanOrEqual(spans[i - 1].last.getTime());
      }
    });
  });

  it('the application role cannot UPDATE, DELETE or TRUNCATE audit rows or chain entries', async () => {
    const app = new Client({ connectionString: testDatabaseUrls().appUrl });
    await app.connect();
    try {
      for (const [t, col] of [
        ['audit_events', 'outcome'],
        ['audit_chain', 'prev_hash'],
      ]) {
        await expect(app.query(`UPDATE ${t} SET ${col} = ${col}`)).rejects.toThrow(
          /permission denied/,
        );
        await expect(app.query(`DELETE FROM ${t}`)).rejects.toThrow(/permission denied/);
        await expect(app.query(`TRUNCATE ${t}`)).rejects.toThrow(/permission denied/);
      }
      await expect(app.query(`UPDATE audit_chain_meta SET created_at = now()`)).rejects.toThrow(
        /permission denied/,
      );
      // Lab-scoped SELECT; INSERT open to any lab (group commit).
      await app.query('BEGIN');
      await app.query(`SELECT set_config('app.lab_id', $1, true)`, [lab1]);
      const seen = await app.query(`SELECT DISTINCT lab_id FROM audit_events`);
      expect(seen.rows.map((r) => r.lab_id)).toEqual([lab1]);
      await app.query('ROLLBACK');
      const none = await app.query(`SELECT count(*)::int AS n FROM audit_events`);
      expect(none.rows[0].n).toBe(0);
    } finally {
      await app.end();
    }
  });

  it('nor can the owner: UPDATE and TRUNCATE raise, DELETE outside the purge or younger than 6 years raises', async () => {
    const owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE audit_events SET outcome = 'error'`)).rejects.toThrow(
        /append-only/,
      );
      await expect(owner.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
      await expect(owner.query(`TRUNCATE audit_chain`)).rejects.toThrow(/append-only/);
      await expect(owner.query(`DELETE FROM audit_events`)).rejects.toThrow(/retention purge/);
      await owner.query('BEGIN');
      await owner.query(`SELECT set_config('lhcms.audit_purge', 'on', true)`);
      await expect(owner.query(`DELETE FROM audit_events`)).rejects.toThrow(/at least 6 years/);
      await owner.query('ROLLBACK');
    } finally {
      await owner.end();
    }
  });

  describe('review', () => {
    beforeAll(async () => {
      await s.as('viewer', `/api/v1/cases/${caseId}`);
      await s.as('tech', `/api/v1/cases/${caseId}`, { method: 'PUT', body: { priority: 'low' } });
      await s.as('admin', '/api/v1/cases/?doctor_id=fc-doc');
    });

    it('lists the lab`s events with filters and cursor pages; other labs never appear', async () => {
      const first = await s.as('admin', `/api/v1/audit-events?case_id=${caseId}&limit=2`);
      expect(first.status).toBe(200);
      expect(first.body.events).toHaveLength(2);
      expect(first.body.events.every((e: any) => e.lab_id === lab1)).toBe(true);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const next = await s.as(
        'admin',
        `/api/v1/audit-events?case_id=${caseId}&limit=2&cursor=${first.body.next_cursor}`,
      );
      expect(next.status).toBe(200);
      const ids = [...first.body.events, ...next.body.events].map((e: any) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      const other = await s.as('lab2admin', `/api/v1/audit-events?case_id=${caseId}`);
      expect(other.body.events).toEqual([]);
      const bad = await s.as('admin', '/api/v1/audit-events?outcome=maybe&from=yesterday');
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.errors).sort()).toEqual(['from', 'outcome']);
      expect((await s.as('tech', '/api/v1/audit-events')).status).toBe(403);
    });

    it('answers who accessed a case and a patient, and records that it was asked', async () => {
      const log = await s.as('admin', `/api/v1/cases/${caseId}/access-log`);
      expect(log.status).toBe(200);
      const kinds = log.body.events.map((e: any) => `${e.interaction}:${e.outcome}`);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'create:success',
          'read:success',
          'update:success',
          'search:success',
        ]),
      );
      const report = await s.as('admin', '/api/v1/audit-events/patient-access-report', {
        method: 'POST',
        body: { patient_id: MARKER },
      });
      expect(report.status).toBe(200);
      expect(report.body.patient_ref).toEqual(expect.any(String));
      expect(report.body.events.length).toBeGreaterThan(0);
      expect(report.text).not.toContain(MARKER);
      const asked = await su.query(
        `SELECT interaction, resource_type, patient_ref, query FROM audit_events
         WHERE lab_id = $1 AND resource_type = 'AuditEvent' ORDER BY seq DESC LIMIT 2`,
        [lab1],
      );
      expect(asked.rows[0]).toMatchObject({
        interaction: 'search',
        patient_ref: report.body.patient_ref,
      });
      expect(asked.rows[1]).toMatchObject({ interaction: 'search', query: null });
      expect(JSON.stringify(asked.rows)).not.toContain(MARKER);
    });

    it('exports NDJSON FHIR AuditEvents (admins only) and records the export', async () => {
      const res = await s.as('admin', `/api/v1/audit-events/export?case_id=${caseId}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/fhir\+ndjson/);
      const lines = res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThan(2);
      const created = lines.find((l) => l.subtype.some((c: any) => c.code === 'create'));
      expect(created).toMatchObject({
        resourceType: 'AuditEvent',
        type: { code: 'rest' },
        action: 'C',
        outcome: '0',
        agent: expect.arrayContaining([expect.objectContaining({ requestor: true })]),
        source: { observer: { display: 'LHCMS' } },
      });
      expect(created.entity).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ what: { reference: `Case/${caseId}` } }),
          expect.objectContaining({
            role: expect.objectContaining({ code: '1', display: 'Patient' }),
          }),
        ]),
      );
      expect(res.text).not.toContain(MARKER);
      const row = await su.query(
        `SELECT action, subject_count FROM audit_events WHERE lab_id = $1 AND interaction = 'export' ORDER BY seq DESC LIMIT 1`,
        [lab1],
      );
      expect(row.rows[0]).toEqual({ action: 'R', subject_count: lines.length });
      expect((await s.as('tech', '/api/v1/audit-events/export')).status).toBe(403);
    });
  });
});
