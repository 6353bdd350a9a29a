import type { EntityManager } from 'typeorm';
import { CaseEventsRepository } from './case-events.repository';
import { CasesRepository, type StoredFilters } from './cases.repository';
import { DEFAULT_SORT } from './dto/list-query';

/** Captures the SQL the repositories send (no database). */
function capture(): { em: EntityManager; sql: string[] } {
  const sql: string[] = [];
  const em = {
    queryRunner: undefined,
    query: async (text: string) => {
      sql.push(text.replace(/\s+/g, ' '));
      return [{ n: 0 }];
    },
  } as unknown as EntityManager;
  return { em, sql };
}

/**
 * The select lists render columns as text (`to_char(created_at …) AS created_at`,
 * `id::text AS id`): a bare column name in ORDER BY names that output text, which
 * sorts wrongly ("1002" < "998") and which no index serves (a full sort per page).
 */
describe('ORDER BY uses the table columns, never the select list aliases', () => {
  it.each([
    [
      'cases pageWithTotal',
      (em: EntityManager) => new CasesRepository().pageWithTotal(em, '1', {}, 0, 50, DEFAULT_SORT),
      /ORDER BY cases\.created_at DESC, cases\.id DESC LIMIT/,
    ],
    [
      'cases after',
      (em: EntityManager) =>
        new CasesRepository().after(
          em,
          '1',
          {},
          { sort: DEFAULT_SORT, key: '2026-01-01T00:00:00.000000Z', id: 5 },
          51,
          DEFAULT_SORT,
        ),
      /ORDER BY cases\.created_at DESC, cases\.id DESC LIMIT/,
    ],
    [
      'cases pageWithTotal by due date',
      (em: EntityManager) =>
        new CasesRepository().pageWithTotal(em, '1', {}, 0, 50, { field: 'due_date', desc: false }),
      /WHERE .* AND cases\.due_date IS NOT NULL ORDER BY cases\.due_date ASC, cases\.id ASC LIMIT/,
    ],
    [
      'cases after, by ship-by descending',
      (em: EntityManager) => {
        const sort = { field: 'ship_by', desc: true } as const;
        return new CasesRepository().after(
          em,
          '1',
          {},
          { sort, key: '2026-01-01', id: 5 },
          51,
          sort,
        );
      },
      /AND \(cases\.ship_by, cases\.id\) < \(\$2::date, \$3\) ORDER BY cases\.ship_by DESC, cases\.id DESC LIMIT/,
    ],
    [
      'case events list',
      (em: EntityManager) => new CaseEventsRepository().list(em, '1', 7),
      /ORDER BY case_events\.id$/,
    ],
  ])('%s', async (_name, run, order) => {
    const { em, sql } = capture();
    await run(em);
    expect(sql[0]).toMatch(order);
  });
});

describe('at-risk lists', () => {
  it('read the at-risk ids by id and sort them, never walking the sort index over the lab', async () => {
    const { em, sql } = capture();
    const filters: StoredFilters = { at_risk: { ids: [3, 9], at_risk: true } };
    await new CasesRepository().after(em, '1', filters, undefined, 51, {
      field: 'due_date',
      desc: false,
    });
    expect(sql[0]).toMatch(
      /^WITH cases AS MATERIALIZED \(SELECT \* FROM cases WHERE id = ANY\(\$1::int\[\]\)\) SELECT /,
    );
    // Not at risk: a filter on the usual index order.
    const other = capture();
    await new CasesRepository().after(
      other.em,
      '1',
      { at_risk: { ids: [3, 9], at_risk: false } },
      undefined,
      51,
      { field: 'due_date', desc: false },
    );
    expect(other.sql[0]).toMatch(
      /^SELECT .* AND id <> ALL\(\$2::int\[\]\) AND cases\.due_date IS NOT NULL/,
    );
  });
});

/** The list total: the lab's counters when they can answer (no filter, or status only), else a count. */
describe('list totals', () => {
  it.each([
    ['no filter', {}, /FROM lab_case_status_counts WHERE lab_id = \$1\)/],
    [
      'status only',
      { status: 'pending' },
      /FROM lab_case_status_counts WHERE lab_id = \$1 AND status = \$2\)/,
    ],
    [
      'another filter',
      { status: 'pending', doctor_id: 'd1' },
      /SELECT count\(\*\)::int FROM cases WHERE/,
    ],
  ] as Array<[string, StoredFilters, RegExp]>)('%s', async (_name, filters, total) => {
    const { em, sql } = capture();
    await new CasesRepository().pageWithTotal(em, '1', filters, 0, 50, DEFAULT_SORT);
    await new CasesRepository().count(em, '1', filters);
    expect(sql[0]).toMatch(total);
    expect(sql[1]).toMatch(total);
  });
});
