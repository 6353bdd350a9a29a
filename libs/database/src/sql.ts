import type { EntityManager } from 'typeorm';

/**
 * Runs a parameterised statement on the manager's connection and returns its
 * rows, whatever the command (TypeORM's `query()` returns `[rows, count]` for
 * UPDATE/DELETE ... RETURNING but plain rows for SELECT/INSERT).
 */
export async function rows<T>(
  em: EntityManager,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  if (!em.queryRunner) return em.query<T[]>(text, params);
  const r = await em.queryRunner.query(text, params, true);
  return (r.records ?? []) as T[];
}
