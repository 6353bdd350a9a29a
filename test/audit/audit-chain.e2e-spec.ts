import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import {
  cleanEnv,
  createTestDatabase,
  eventually,
  spawnNode,
  startStack,
  type Stack,
  TEST_SECRET_KEY,
  testDatabaseUrls,
  type TestDatabase,
} from '@lhcms/testing';
import type { Client } from 'pg';
import { auditKeys } from '../../apps/api/src/audit/audit-keys';
import { CANONICAL_COLUMNS, canonicalDigest } from '../../apps/api/src/audit/chain';
import { recomputedDigestPages, strayEvents } from '../../apps/api/src/audit/chain-sources';
import { type VerifyReport, verifyChain } from '../../apps/api/src/audit/chain-verifier';
import { CheckpointStore } from '../../apps/api/src/audit/checkpoints';
import { pgSql } from '../../apps/api/src/audit/sql';
import { nothingHeldBack, superuserClient } from './audit-test-helpers';

/**
 * The hash chain on a database of its own (tampering would disturb the other
 * suites): sealing, signed checkpoints, `lhcms audit verify` and the verify
 * endpoint, and each kind of tampering detected in its own test (tampered
 * inside a transaction that is rolled back, with triggers off as a DBA could).
 */
describe('audit hash chain: sealing, checkpoints, verify, tampering', () => {
  let db: TestDatabase;
  let s: Stack;
  let su: Client;
  let checkpoints: string;
  let rawEnv: Record<string, string>;
  const key = () => auditKeys(loadEnv({ NODE_ENV: 'test', SECRET_KEY: TEST_SECRET_KEY })).chain;

  async function cli(...args: string[]) {
    const p = spawnNode('dist/apps/api/src/cli.js', cleanEnv(rawEnv), args);
    const { code } = await p.exited;
    return { code, out: p.output() };
  }

  async function chainId(): Promise<string> {
    return (await su.query(`SELECT chain_id::text AS id FROM audit_chain_meta`)).rows[0].id;
  }

  /** The in-process verifier (the CLI's code path) on the superuser connection, seeing its uncommitted changes. */
  async function verifyHere(): Promise<VerifyReport> {
    const sql = pgSql(su);
    const id = await chainId();
    return verifyChain(
      key(),
      id,
      recomputedDigestPages(sql),
      new CheckpointStore(checkpoints, id, key()).list(),
      strayEvents(sql),
    );
  }

  /** Tampers inside a transaction (triggers off, as a DBA could), verifies, rolls back. */
  async function tampered(tamper: () => Promise<unknown>): Promise<VerifyReport> {
    await su.query('BEGIN');
    try {
      await su.query(`SET LOCAL session_replication_role = replica`);
      await tamper();
      return await verifyHere();
    } finally {
      await su.query('ROLLBACK');
    }
  }

  const seqAt = async (position: number): Promise<string> =>
    (await su.query(`SELECT seq::text FROM audit_chain WHERE position = $1`, [position])).rows[0]
      .seq;

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_chain');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    checkpoints = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-chain-cp-'));
    rawEnv = {
      NODE_ENV: 'test',
      DATABASE_URL: db.appUrl,
      DATABASE_OWNER_URL: db.ownerUrl,
      SECRET_KEY: TEST_SECRET_KEY,
      AUDIT_CHECKPOINT_DIR: checkpoints,
    };
    s = await startStack({
      env: { ...rawEnv, AUDIT_SEAL_INTERVAL_MS: '0' },
    });
    for (let i = 0; i < 4; i++) {
      const c = await s.as('admin', '/api/v1/cases/', {
        method: 'POST',
        body: {
          doctor_id: `d${i}`,
          product_id: 'p',
          case_type: 'other',
          patient_info: { patient_id: `P${i}` },
        },
        headers: { 'user-agent': 'Zürich-señal-agent/1.0' },
      });
      await s.as('admin', `/api/v1/cases/${c.body.id}`);
      await s.as('tech', `/api/v1/cases/${c.body.id}/status`, {
        method: 'PATCH',
        body: { status: 'in_progress' },
      });
    }
    await s.as('admin', '/api/v1/cases/?status=in_progress&per_page=3');
    await s.as('lab2admin', '/api/v1/cases/1');
    su = await superuserClient(db.name);
  });

  afterAll(async () => {
    await su?.end();
    await s?.close();
    await db?.drop();
    fs.rmSync(checkpoints, { recursive: true, force: true });
  });

  it('the database digest and the one rebuilt outside it agree on every row', async () => {
    const fields = CANONICAL_COLUMNS.map((c, i) => `${c} AS f${i}`).join(', ');
    const r = await su.query(
      `SELECT audit_event_digest(e) AS sql_digest, ${fields} FROM audit_events e`,
    );
    expect(r.rows.length).toBeGreaterThan(10);
    for (const row of r.rows) {
      expect(canonicalDigest(CANONICAL_COLUMNS.map((_, i) => row[`f${i}`]))).toBe(row.sql_digest);
    }
    expect(r.rows.some((x) => String(x.f9).includes('Zürich'))).toBe(true);
  });

  it('`lhcms audit seal` links every event and writes a signed checkpoint; verify says intact', async () => {
    await nothingHeldBack(su);
    const sealed = await cli('audit', 'seal');
    expect(sealed.code).toBe(0);
    const counts = await su.query(
      `SELECT (SELECT count(*) FROM audit_events)::int AS events, (SELECT count(*) FROM audit_chain)::int AS chained,
              (SELECT max(position) FROM audit_chain)::int AS head`,
    );
    expect(counts.rows[0].chained).toBe(counts.rows[0].events);
    expect(counts.rows[0].head).toBe(counts.rows[0].events);
    // Lab 2's try at lab 1's case 1 left a security event in lab 1's trail, chained like any other.
    const attempts = await su.query(
      `SELECT lab_id FROM audit_events WHERE event_type = 'security' AND outcome_detail = 'CROSS_LAB_ATTEMPT'`,
    );
    expect(attempts.rows).toEqual([{ lab_id: String(s.labs.lab1) }]);
    const files = fs.readdirSync(path.join(checkpoints, await chainId()));
    expect(files).toEqual([`${String(counts.rows[0].head).padStart(20, '0')}.json`]);

    const verified = await cli('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(
      /^intact: \d+ events \(positions 1\.\.\d+\), 1 checkpoints verified/m,
    );
    expect(await verifyHere()).toMatchObject({ status: 'intact', checkpoints_checked: 1 });
  });

  it('the API sealer links new events in the background', async () => {
    const bg = await startStack({ env: { ...rawEnv, AUDIT_SEAL_INTERVAL_MS: '50' } });
    try {
      await bg.as('admin', '/api/v1/cases/');
      await eventually(
        async () =>
          (
            await su.query(
              `SELECT count(*) = 0 AS done FROM audit_events e WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.seq = e.seq)`,
            )
          ).rows[0].done,
        10_000,
        'the background sealer',
      );
    } finally {
      await bg.close();
    }
    expect(await verifyHere()).toMatchObject({ status: 'intact' });
  });

  it('detects an updated field', async () => {
    const seq = await seqAt(5);
    const r = await tampered(() =>
      su.query(`UPDATE audit_events SET outcome = 'denied', http_status = 403 WHERE seq = $1`, [
        seq,
      ]),
    );
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'altered', position: 5, seq } });
  });

  it('detects a deleted row', async () => {
    const seq = await seqAt(6);
    const r = await tampered(() => su.query(`DELETE FROM audit_events WHERE seq = $1`, [seq]));
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'deleted', position: 6, seq } });
  });

  it('detects a deleted row whose chain entry was removed too, positions closed up', async () => {
    const r = await tampered(async () => {
      const seq = await seqAt(4);
      await su.query(`DELETE FROM audit_events WHERE seq = $1`, [seq]);
      await su.query(`DELETE FROM audit_chain WHERE position = 4`);
      await su.query(`UPDATE audit_chain SET position = position + 999999 WHERE position > 4`);
      await su.query(
        `UPDATE audit_chain SET position = position - 1000000 WHERE position > 999999`,
      );
    });
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'deleted', position: 4 } });
  });

  it('detects an inserted row', async () => {
    const r = await tampered(async () => {
      await su.query(`UPDATE audit_chain SET position = position + 1000001 WHERE position >= 7`);
      await su.query(
        `UPDATE audit_chain SET position = position - 1000000 WHERE position > 1000000`,
      );
      const fake = await su.query(
        `INSERT INTO audit_events (occurred_at, lab_id, actor_user_id, actor_type, event_type, action, interaction, outcome, http_status)
         VALUES (now() - interval '1 hour', $1, 'intruder', 'user', 'rest', 'R', 'read', 'success', 200)
         RETURNING seq::text, tx_id::text`,
        [String(s.labs.lab1)],
      );
      const prev = (await su.query(`SELECT row_hash FROM audit_chain WHERE position = 6`)).rows[0]
        .row_hash;
      await su.query(
        `INSERT INTO audit_chain (position, seq, tx_id, prev_hash, row_hash) VALUES (7, $1, $2::xid8, $3, $4)`,
        [fake.rows[0].seq, fake.rows[0].tx_id, prev, 'f'.repeat(64)],
      );
    });
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'inserted', position: 7 } });
  });

  it('detects an event slipped in below the sealed part of the chain', async () => {
    const r = await tampered(() =>
      su.query(
        `INSERT INTO audit_events (occurred_at, tx_id, lab_id, actor_type, event_type, action, interaction, outcome)
         VALUES (now(), '3'::xid8, $1, 'user', 'rest', 'R', 'read', 'success')`,
        [String(s.labs.lab1)],
      ),
    );
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'inserted' } });
  });

  it('detects a swapped order', async () => {
    const r = await tampered(async () => {
      await su.query(`UPDATE audit_chain SET position = 1000000 WHERE position = 8`);
      await su.query(`UPDATE audit_chain SET position = 8 WHERE position = 9`);
      await su.query(`UPDATE audit_chain SET position = 9 WHERE position = 1000000`);
    });
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'reordered', position: 8 } });
  });

  it('detects a cut-off tail against the signed checkpoint', async () => {
    const latest = new CheckpointStore(checkpoints, await chainId(), key()).latest()!;
    const r = await tampered(async () => {
      await su.query(
        `DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_chain WHERE position >= $1)`,
        [latest.position],
      );
      await su.query(`DELETE FROM audit_chain WHERE position >= $1`, [latest.position]);
    });
    expect(r).toMatchObject({ status: 'tampered', problem: { kind: 'deleted' } });
    expect(r.problem?.detail).toMatch(/checkpoint/);
  });

  it('detects an altered checkpoint file', async () => {
    const dir = path.join(checkpoints, await chainId());
    const file = path.join(dir, fs.readdirSync(dir)[0]);
    const original = fs.readFileSync(file, 'utf8');
    try {
      const cp = JSON.parse(original);
      fs.writeFileSync(file, JSON.stringify({ ...cp, hash: 'a'.repeat(64) }));
      expect(await verifyHere()).toMatchObject({
        status: 'tampered',
        problem: { kind: 'checkpoint' },
      });
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('reports intact otherwise, on the CLI and the admin endpoint (and the endpoint call is audited)', async () => {
    expect(await verifyHere()).toMatchObject({ status: 'intact' });
    const res = await s.as('admin', '/api/v1/audit-events/verify');
    expect(res.status).toBe(200);
    // The lab's view: its own events only, no positions (the CLI has those).
    const lab1 = String(s.labs.lab1);
    const own = await su.query(
      `SELECT count(*)::int AS n FROM audit_events e JOIN audit_chain c ON c.seq = e.seq WHERE e.lab_id = $1`,
      [lab1],
    );
    expect(res.body).toEqual({
      status: 'intact',
      chain_id: await chainId(),
      scope: 'lab',
      lab_id: lab1,
      entries_checked: own.rows[0].n,
    });
    expect(res.body.entries_checked).toBeGreaterThan(10);
    const denied = await s.as('tech', '/api/v1/audit-events/verify');
    expect(denied.status).toBe(403);
    const rows = await su.query(
      `SELECT outcome FROM audit_events WHERE interaction = 'verify' ORDER BY seq`,
    );
    expect(rows.rows.map((x) => x.outcome)).toEqual(['success', 'denied']);
  });

  it('a committed change is reported by `lhcms audit verify` (exit 1) and the endpoint', async () => {
    const seq = await seqAt(3);
    await su.query(`SET session_replication_role = replica`);
    await su.query(`UPDATE audit_events SET actor_user_id = 'someone-else' WHERE seq = $1`, [seq]);
    await su.query(`SET session_replication_role = origin`);
    const out = await cli('audit', 'verify');
    expect(out.code).toBe(1);
    expect(out.out).toContain(`TAMPERED: altered at position 3 (seq ${seq})`);
    const res = await s.as('admin', '/api/v1/audit-events/verify');
    expect(res.body).toMatchObject({ status: 'tampered', problem: { kind: 'altered' } });
    expect(res.text).not.toMatch(/position|seq/);
  });
});
