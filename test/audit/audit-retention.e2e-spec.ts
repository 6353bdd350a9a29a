import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { runMigrations } from '@lhcms/database';
import {
  cleanEnv,
  createTestDatabase,
  spawnNode,
  TEST_SECRET_KEY,
  testDatabaseUrls,
  type TestDatabase,
} from '@lhcms/testing';
import { Client } from 'pg';

/**
 * `lhcms audit purge`: never younger than 6 years whatever DATA_RETENTION_DAYS
 * says, cut at a signed checkpoint so the kept chain still verifies, and
 * itself audited with counts only.
 */
describe('audit retention purge (CLI, owner role)', () => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  let app: Client;

  const cli = async (...args: string[]) => {
    const p = spawnNode('dist/apps/api/src/cli.js', cleanEnv(env), args);
    const { code } = await p.exited;
    return { code, out: p.output() };
  };
  const insert = (ageSql: string, n: number) =>
    app.query(
      `INSERT INTO audit_events (occurred_at, lab_id, actor_user_id, actor_type, event_type, action, interaction, outcome, http_status)
       SELECT now() - ${ageSql}, '1', 'u' || g, 'user', 'rest', 'R', 'read', 'success', 200 FROM generate_series(1, $1) g`,
      [n],
    );

  beforeAll(async () => {
    db = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_retention');
    await runMigrations(
      loadEnv({ NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_OWNER_URL: db.ownerUrl }),
    );
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-retention-cp-'));
    env = {
      NODE_ENV: 'test',
      DATABASE_URL: db.appUrl,
      DATABASE_OWNER_URL: db.ownerUrl,
      SECRET_KEY: TEST_SECRET_KEY,
      AUDIT_CHECKPOINT_DIR: dir,
      DATA_RETENTION_DAYS: '1',
    };
    app = new Client({ connectionString: db.appUrl });
    await app.connect();
  });
  afterAll(async () => {
    await app.end();
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('purges only past 6 years, at a checkpoint, audited with counts; the rest still verifies', async () => {
    await insert(`interval '7 years'`, 5);
    expect((await cli('audit', 'seal')).code).toBe(0); // checkpoint at position 5
    await insert(`interval '2 years'`, 3); // past DATA_RETENTION_DAYS=1, within the 6-year floor
    expect((await cli('audit', 'seal')).code).toBe(0); // checkpoint at position 8

    const dry = await cli('audit', 'purge', '--dry-run');
    expect(dry.out).toMatch(/would purge 5 audit events and 5 chain entries through position 5/);

    const purged = await cli('audit', 'purge');
    expect(purged.code).toBe(0);
    expect(purged.out).toMatch(/purged 5 audit events and 5 chain entries through position 5/);

    const owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      const left = await owner.query(
        `SELECT count(*) FILTER (WHERE occurred_at < now() - interval '6 years')::int AS old,
                count(*) FILTER (WHERE interaction = 'read')::int AS reads FROM audit_events`,
      );
      expect(left.rows[0]).toEqual({ old: 0, reads: 3 });
      const event = await owner.query(
        `SELECT actor_type, event_type, action, subject_count, query FROM audit_events WHERE interaction = 'purge'`,
      );
      expect(event.rows).toHaveLength(1);
      expect(event.rows[0]).toMatchObject({
        actor_type: 'system',
        event_type: 'system',
        action: 'D',
        subject_count: 5,
        query: { through_position: 5, chain_entries: 5 },
      });
    } finally {
      await owner.end();
    }
    await cli('audit', 'seal'); // the purge event joins the chain
    const verified = await cli('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/intact: 4 events \(positions 6\.\.9\)/);

    const again = await cli('audit', 'purge');
    expect(again.out).toMatch(/nothing to purge/);
    // Seven CLI processes, each starting Nest: ~8 s apiece on a loaded two-core machine.
  }, 180_000);

  it('a trail idle past retention keeps its head: the chain goes on from it and still verifies', async () => {
    const idle = await createTestDatabase(testDatabaseUrls().adminUrl, 'lhcms_retention_idle');
    const idleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-retention-idle-cp-'));
    const saved = { env, app };
    const idleApp = new Client({ connectionString: idle.appUrl });
    env = {
      ...env,
      DATABASE_URL: idle.appUrl,
      DATABASE_OWNER_URL: idle.ownerUrl,
      AUDIT_CHECKPOINT_DIR: idleDir,
    };
    try {
      await runMigrations(
        loadEnv({ NODE_ENV: 'test', DATABASE_URL: idle.appUrl, DATABASE_OWNER_URL: idle.ownerUrl }),
      );
      await idleApp.connect();
      app = idleApp;
      await insert(`interval '8 years'`, 2);
      expect((await cli('audit', 'seal')).code).toBe(0); // checkpoint at position 2
      await insert(`interval '7 years'`, 2);
      expect((await cli('audit', 'seal')).code).toBe(0); // checkpoint at position 4, the head
      // Everything is past retention, the head's checkpoint included: the cut stops below the head.
      const purged = await cli('audit', 'purge');
      expect(purged.code).toBe(0);
      expect(purged.out).toMatch(/purged 2 audit events and 2 chain entries through position 2/);
      await cli('audit', 'seal'); // the purge event: position 5, after the kept head
      const verified = await cli('audit', 'verify');
      expect(verified.code).toBe(0);
      expect(verified.out).toMatch(/intact: 3 events \(positions 3\.\.5\)/);
    } finally {
      await idleApp.end().catch(() => undefined);
      ({ env, app } = saved);
      await idle.drop();
      fs.rmSync(idleDir, { recursive: true, force: true });
    }
  }, 180_000);
});
