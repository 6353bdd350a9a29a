import { databaseOf, withDatabase } from '@lhcms/database';
import { testDatabaseUrls } from '@lhcms/testing';
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
