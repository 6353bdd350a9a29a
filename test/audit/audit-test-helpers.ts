import { databaseOf, withDatabase } from '@lhcms/database';
import { eventually, testDatabaseUrls } from '@lhcms/testing';
import { Client } from 'pg';

/** A superuser connection to the run's test database (reads every lab's audit rows, bypasses RLS). */
export async function superuserClient(database?: string): Promise<Client> {
  const urls = testDatabaseUrls();
  const c = new Client({
    connectionString: withDatabase(urls.adminUrl, database ?? databaseOf(urls.ownerUrl)),
  });
  await c.connect();
  return c;
}

/**
 * Resolves once no transaction older than the newest audit event's is still
 * running anywhere in the cluster: from then on one sealing pass chains every
 * event. The sealer never seals past an unfinished transaction, and
 * transaction ids are cluster-wide, so another test file's open transaction,
 * in any database, holds sealing back for as long as it runs.
 */
export async function nothingHeldBack(su: Client): Promise<void> {
  await eventually(
    async () =>
      (
        await su.query<{ ok: boolean }>(
          `SELECT coalesce(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true) AS ok FROM audit_events`,
        )
      ).rows[0].ok,
    10_000,
    'no older transaction still running',
  );
}
