import type { Env } from '@lhcms/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** Applies pending migrations as the owner role; returns the names applied. */
export async function runMigrations(env: Env): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(env, 'owner', { poolMax: 2 }));
  await ds.initialize();
  try {
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** Reverts the last applied migration as the owner role; returns its name or undefined. */
export async function revertLastMigration(env: Env): Promise<string | undefined> {
  const ds = new DataSource(dataSourceOptions(env, 'owner', { poolMax: 2 }));
  await ds.initialize();
  try {
    const before = await ds
      .query<Array<{ name: string }>>(
        `SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`,
      )
      .catch(() => [] as Array<{ name: string }>);
    await ds.undoLastMigration({ transaction: 'each' });
    return before[0]?.name;
  } finally {
    await ds.destroy();
  }
}
