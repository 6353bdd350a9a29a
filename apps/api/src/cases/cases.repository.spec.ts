import type { EntityManager } from 'typeorm';
import { CasesRepository } from './cases.repository';

/** Captures the SQL the repository sends (no database). */
function capture(): { em: EntityManager; sql: string[] } {
  const sql: string[] = [];
  const em = {
    queryRunner: undefined,
    query: async (text: string) => {
      sql.push(text.replace(/\s+/g, ' '));
      return [];
    },
  } as unknown as EntityManager;
  return { em, sql };
}

describe('CasesRepository list SQL', () => {
  // The select list has `to_char(created_at …) AS created_at`: a bare `created_at`
  // in ORDER BY would sort by that text, which no index serves (a full sort per page).
  it.each([
    ['page', (r: CasesRepository, em: EntityManager) => r.page(em, '1', {}, 0, 50)],
    [
      'after',
      (r: CasesRepository, em: EntityManager) =>
        r.after(em, '1', {}, { createdAt: '2026-01-01T00:00:00.000000Z', id: 5 }, 51),
    ],
  ])('%s orders by the table columns the lab_id-led index serves', async (_name, run) => {
    const { em, sql } = capture();
    await run(new CasesRepository(), em);
    expect(sql[0]).toMatch(/ORDER BY cases\.created_at DESC, cases\.id DESC LIMIT/);
  });
});
