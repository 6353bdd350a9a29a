import { Injectable } from '@nestjs/common';

import { type Db, rows } from '@lhcms/database';
import {
  CASE_TABLE,
  type CaseValues,
  SELECTED_COLUMNS,
  type StoredCaseRow,
  WRITABLE_COLUMNS,
} from '../case-model';
import type { CaseFilters, QueueCursor, Sort } from './dto/list-query';
import { lateSql, OPEN_CASE_SQL } from '../schedule';

/**
 * SQL of the cases module. Every statement is parameterised and scoped by
 * `lab_id` (and by row-level security through TenantDb's `app.lab_id`), and
 * live rows only (`deleted_at IS NULL`). Rows come back close to wire shape
 * (timestamps as ISO-8601 UTC text with microseconds, dates as YYYY-MM-DD),
 * with PHI columns still encrypted — PhiCipher decrypts them — so listing
 * needs no entity hydration. The columns come from the catalogue
 * (case.columns.ts).
 */
const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The select list: the catalogue's selected columns, dates and timestamps as text. */
export const CASE_COLUMNS = SELECTED_COLUMNS.map((c) => {
  const sql = CASE_TABLE[c].sql;
  if (sql === 'date') return `${c}::text AS ${c}`;
  if (sql === 'timestamptz') return `${ISO(c)} AS ${c}`;
  return c;
}).join(', ');

/**
 * The list orders, on the table's columns: a bare `created_at` in ORDER BY
 * would name the to_char() text of the select list (an output column wins
 * over an input column), which no index serves — PostgreSQL then sorts every
 * row of the lab for each page (issue #9: ~300 ms against 0.1 ms for 100 000 cases).
 * The id breaks ties in the sort's direction, so each order is one index
 * (lab_id, column, id) read forwards or backwards (ix_cases_lab_created,
 * ix_cases_lab_due_date_id, ix_cases_lab_ship_by_id).
 */
const SORT_COLUMNS = {
  created_at: { col: 'cases.created_at', cast: 'timestamptz', nullable: false },
  due_date: { col: 'cases.due_date', cast: 'date', nullable: true },
  ship_by: { col: 'cases.ship_by', cast: 'date', nullable: true },
} as const;

const orderBy = (sort: Sort) => {
  const dir = sort.desc ? 'DESC' : 'ASC';
  return `${SORT_COLUMNS[sort.field].col} ${dir}, cases.id ${dir}`;
};

/**
 * Which rows of a nullable sort one statement reads: the ones with a key,
 * in key order, or the ones without (last in both directions), in id order.
 * Split in two so each stays a range of the index: `NULLS LAST` on a
 * descending read of an ascending index is not an index order, and a keyset
 * condition `(key, id) < (k, i) OR key IS NULL` is not an index range.
 * Ordering the keyless rows by (key, id) is ordering them by id — and lets
 * PostgreSQL see that the index gives that order.
 */
type Part = 'all' | 'keyed' | 'keyless';

export type { CaseValues } from '../case-model';

/** Filters as the database sees them: a patient id only through its blind index. */
export type StoredFilters = Omit<CaseFilters, 'patient_id' | 'late' | 'at_risk'> & {
  patient_id_bidx?: string;
  /** `late`, as SQL sees it: today in the lab's time zone, and whether late or not. */
  late?: { today: string; late: boolean };
  /**
   * `at_risk`, resolved by the application (ListCases: the schedule's rule
   * decides, SQL only narrows): the lab's at-risk case ids, wanted or excluded.
   */
  at_risk?: { ids: number[]; at_risk: boolean };
};

/** A row as the at-risk rule reads it. */
export interface TimedRow {
  id: number;
  status: string;
  stage: string | null;
  due_date: string | null;
  ship_by: string | null;
}

/** Late, in SQL: the schedule's one definition (schedule/case-timing.ts). */
const LATE = lateSql;

function where(labId: string, f: StoredFilters, params: unknown[]): string {
  params.push(labId);
  const clauses = [`lab_id = $${params.length}`, 'deleted_at IS NULL'];
  const eq = (col: string, v: unknown) => {
    if (v === undefined) return;
    params.push(v);
    clauses.push(`${col} = $${params.length}`);
  };
  eq('status', f.status);
  eq('doctor_id', f.doctor_id);
  eq('product_id', f.product_id);
  eq('case_type', f.case_type);
  eq('priority', f.priority);
  eq('rush_order', f.rush_order);
  eq('patient_id_bidx', f.patient_id_bidx);
  eq('case_number', f.case_number);
  eq('stage', f.stage);
  eq('assigned_to', f.assigned_to);
  const cmp = (col: string, op: '>=' | '<=', v: string | undefined) => {
    if (v === undefined) return;
    params.push(v);
    clauses.push(`${col} ${op} $${params.length}::date`);
  };
  cmp('due_date', '>=', f.due_from);
  cmp('due_date', '<=', f.due_to);
  cmp('ship_by', '<=', f.ship_by_to);
  // remake=true reads ix_cases_lab_remake_of (partial: remakes only).
  if (f.remake !== undefined)
    clauses.push(f.remake ? 'remake_of IS NOT NULL' : 'remake_of IS NULL');
  if (f.late !== undefined) {
    params.push(f.late.today);
    const late = LATE(`$${params.length}`);
    clauses.push(f.late.late ? late : `NOT coalesce(${late}, false)`);
  }
  if (f.at_risk !== undefined) {
    params.push(f.at_risk.ids);
    clauses.push(
      f.at_risk.at_risk
        ? `id = ANY($${params.length}::int[])`
        : `id <> ALL($${params.length}::int[])`,
    );
  }
  return clauses.join(' AND ');
}

/**
 * The number of live cases matching the filters, as a scalar subquery. With
 * no filter or a status only, it reads the lab's counters
 * (lab_case_status_counts, kept exact by a trigger in every writing
 * transaction): a board refresh no longer counts a lab's cases one by one.
 * Any other filter counts the matching rows.
 */
function totalOf(labId: string, f: StoredFilters, params: unknown[]): string {
  const used = Object.entries(f).filter(([, v]) => v !== undefined);
  if (used.every(([k]) => k === 'status')) {
    params.push(labId);
    let sql = `SELECT coalesce(sum(live), 0)::int FROM lab_case_status_counts WHERE lab_id = $${params.length}`;
    if (f.status !== undefined) {
      params.push(f.status);
      sql += ` AND status = $${params.length}`;
    }
    return sql;
  }
  return `SELECT count(*)::int FROM cases WHERE ${where(labId, f, params)}`;
}

/**
 * The live remakes of the row's case, oldest first, as one more column of a
 * read (ix_cases_lab_remake_of): a list page or a get then needs no second
 * statement for them. Null when there are none. `cases` must be the table
 * here, not the at-risk CTE that takes its name (select() leaves it out there).
 */
const REMAKES_COLUMN = `(SELECT array_agg(r.id ORDER BY r.id) FROM cases r
  WHERE r.lab_id = cases.lab_id AND r.remake_of = cases.id AND r.deleted_at IS NULL) AS __remakes`;

/** A row read with its remakes (REMAKES_COLUMN). */
export type RowWithRemakes = StoredCaseRow & { __remakes?: number[] | null };

/** The remakes of rows read with REMAKES_COLUMN, or undefined when any row was read without it. */
export function remakesCarried(list: readonly RowWithRemakes[]): Map<number, number[]> | undefined {
  const out = new Map<number, number[]>();
  for (const row of list) {
    if (row.__remakes === undefined) return undefined;
    if (row.__remakes !== null) out.set(row.id, row.__remakes);
  }
  return out;
}

@Injectable()
export class CasesRepository {
  async findById(
    em: Db,
    labId: string,
    id: number,
    forUpdate = false,
  ): Promise<StoredCaseRow | undefined> {
    const found = await rows<StoredCaseRow>(
      em,
      `SELECT ${CASE_COLUMNS} FROM cases WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL${forUpdate ? ' FOR UPDATE' : ''}`,
      [id, labId],
    );
    return found[0];
  }

  /** findById for an answer: the row with its remakes, in one statement. */
  async findForAnswer(em: Db, labId: string, id: number): Promise<RowWithRemakes | undefined> {
    const found = await rows<RowWithRemakes>(
      em,
      `SELECT ${CASE_COLUMNS}, ${REMAKES_COLUMN} FROM cases WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL`,
      [id, labId],
    );
    return found[0];
  }

  /**
   * The live remakes of these cases, oldest first, by original: one query for
   * a whole page (ix_cases_lab_remake_of).
   */
  async remakesOf(em: Db, labId: string, ids: readonly number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    if (ids.length === 0) return out;
    const found = await rows<{ remake_of: number; ids: number[] }>(
      em,
      `SELECT remake_of, array_agg(id ORDER BY id) AS ids FROM cases
       WHERE lab_id = $1 AND remake_of = ANY($2::int[]) AND deleted_at IS NULL
       GROUP BY remake_of`,
      [labId, [...new Set(ids)]],
    );
    for (const r of found) out.set(r.remake_of, r.ids);
    return out;
  }

  async count(em: Db, labId: string, filters: StoredFilters): Promise<number> {
    const params: unknown[] = [];
    const found = await rows<{ n: number }>(
      em,
      `SELECT (${totalOf(labId, filters, params)}) AS n`,
      params,
    );
    return found[0].n;
  }

  /**
   * One offset page and the total, in one statement (the count as an
   * uncorrelated scalar subquery, evaluated once): a list costs one round trip.
   * An empty page (past the end) has no row to carry the total: count apart.
   * A nullable sort reads the keyed rows, then (when the page is not full)
   * the keyless ones from where the keyed ones end.
   */
  async pageWithTotal(
    em: Db,
    labId: string,
    filters: StoredFilters,
    offset: number,
    limit: number,
    sort: Sort,
  ): Promise<{ rows: StoredCaseRow[]; total: number }> {
    const nullable = SORT_COLUMNS[sort.field].nullable;
    const found = await this.select(em, labId, filters, sort, nullable ? 'keyed' : 'all', {
      limit,
      offset,
      withTotal: true,
    });
    let total = found[0]?.__total;
    // The rows keep their __total: what reads them picks columns by name (toCaseResponse), and a
    // copy of each row without it was ~2 % of a list's CPU.
    const page: StoredCaseRow[] = found;
    if (nullable && page.length < limit) {
      // Before the keyless rows: the keyed ones this page ends (offset 0 from
      // them), or all of them when the page starts past them.
      const keyed = page.length > 0 ? offset : await this.countKeyed(em, labId, filters, sort);
      page.push(
        ...(await this.select(em, labId, filters, sort, 'keyless', {
          limit: limit - page.length,
          offset: Math.max(0, offset - keyed),
        })),
      );
    }
    total ??= await this.count(em, labId, filters);
    return { rows: page, total };
  }

  /** Keyset paging in the sort's order: up to `limit` rows strictly after the cursor. */
  async after(
    em: Db,
    labId: string,
    filters: StoredFilters,
    cursor: QueueCursor | undefined,
    limit: number,
    sort: Sort,
  ): Promise<StoredCaseRow[]> {
    if (!SORT_COLUMNS[sort.field].nullable) {
      return this.select(em, labId, filters, sort, 'all', { limit, after: cursor });
    }
    const inKeyless = cursor !== undefined && cursor.key === '';
    const page = inKeyless
      ? []
      : await this.select(em, labId, filters, sort, 'keyed', { limit, after: cursor });
    if (page.length < limit) {
      page.push(
        ...(await this.select(em, labId, filters, sort, 'keyless', {
          limit: limit - page.length,
          after: inKeyless ? cursor : undefined,
        })),
      );
    }
    return page;
  }

  /**
   * The rows the at-risk rule must look at (ListCases decides): live, open
   * (not finished, not gone: those are never at risk), under the other
   * filters, with the ship-by date — the due date without one — in the
   * schedule's window (ScheduleClock.atRiskWindow). A superset of the
   * at-risk cases by construction; the two ranges are ranges of
   * ix_cases_lab_ship_by_id and ix_cases_lab_due_date_id.
   */
  async atRiskCandidates(
    em: Db,
    labId: string,
    filters: StoredFilters,
    window: { from: string; until: string },
  ): Promise<TimedRow[]> {
    const params: unknown[] = [];
    const w = where(labId, filters, params);
    params.push(window.from, window.until);
    const [from, until] = [`$${params.length - 1}::date`, `$${params.length}::date`];
    return rows<TimedRow>(
      em,
      `SELECT id, status, stage, due_date::text AS due_date, ship_by::text AS ship_by
       FROM cases WHERE ${w}
         AND ${OPEN_CASE_SQL}
         AND ((ship_by >= ${from} AND ship_by < ${until})
           OR (ship_by IS NULL AND due_date >= ${from} AND due_date < ${until}))`,
      params,
    );
  }

  private async countKeyed(
    em: Db,
    labId: string,
    filters: StoredFilters,
    sort: Sort,
  ): Promise<number> {
    const params: unknown[] = [];
    const w = where(labId, filters, params);
    const found = await rows<{ n: number }>(
      em,
      `SELECT count(*)::int AS n FROM cases WHERE ${w} AND ${SORT_COLUMNS[sort.field].col} IS NOT NULL`,
      params,
    );
    return found[0].n;
  }

  /** One statement of a list: a part of the sort, after a cursor or at an offset. */
  private select(
    em: Db,
    labId: string,
    filters: StoredFilters,
    sort: Sort,
    part: Part,
    o: { limit: number; offset?: number; after?: QueueCursor; withTotal?: boolean },
  ): Promise<Array<RowWithRemakes & { __total?: number }>> {
    const params: unknown[] = [];
    // At-risk work is a known, small set of ids: read those rows by id and
    // sort them. Left to itself, the planner walks the sort's index from its
    // start, filtering on the ids — the whole lab when they sit at its end
    // (measured on 100 000 cases: 120 ms against a few). Named `cases`, the
    // CTE stands for the table in the rest of the statement (in its own body
    // the name is still the table, and row-level security applies there).
    let pinned = '';
    if (filters.at_risk?.at_risk) {
      params.push(filters.at_risk.ids);
      pinned = `WITH cases AS MATERIALIZED (SELECT * FROM cases WHERE id = ANY($${params.length}::int[])) `;
    }
    const total = o.withTotal ? `(${totalOf(labId, filters, params)}) AS __total, ` : '';
    let w = where(labId, filters, params);
    const { col, cast } = SORT_COLUMNS[sort.field];
    const cmp = sort.desc ? '<' : '>';
    if (part === 'keyed') w += ` AND ${col} IS NOT NULL`;
    if (part === 'keyless') w += ` AND ${col} IS NULL`;
    if (o.after && part === 'keyless') {
      params.push(o.after.id);
      w += ` AND cases.id ${cmp} $${params.length}`;
    } else if (o.after) {
      params.push(o.after.key, o.after.id);
      w += ` AND (${col}, cases.id) ${cmp} ($${params.length - 1}::${cast}, $${params.length})`;
    }
    params.push(o.limit);
    // Each row's remakes come with it, except among the pinned at-risk rows (there `cases` is
    // the CTE: the answer asks for them apart).
    const remakes = pinned ? '' : `, ${REMAKES_COLUMN}`;
    let sql = `${pinned}SELECT ${total}${CASE_COLUMNS}${remakes} FROM cases WHERE ${w} ORDER BY ${orderBy(sort)} LIMIT $${params.length}`;
    if (o.offset) {
      params.push(o.offset);
      sql += ` OFFSET $${params.length}`;
    }
    return rows(em, sql, params);
  }

  async insert(em: Db, labId: string, v: CaseValues): Promise<StoredCaseRow> {
    const cols = Object.keys(v).filter((c) => WRITABLE_COLUMNS.has(c));
    const params: unknown[] = [labId, ...cols.map((c) => v[c as keyof CaseValues])];
    const found = await rows<StoredCaseRow>(
      em,
      `INSERT INTO cases (lab_id, ${cols.join(', ')}) VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')}) RETURNING ${CASE_COLUMNS}`,
      params,
    );
    return found[0];
  }

  /**
   * Sets the given columns (and updated_at) on a live row of the lab; undefined
   * when there is none. The row comes back with its remakes, for the answer.
   */
  async update(
    em: Db,
    labId: string,
    id: number,
    changes: Partial<CaseValues>,
  ): Promise<RowWithRemakes | undefined> {
    const cols = Object.keys(changes).filter((c) => WRITABLE_COLUMNS.has(c));
    const params: unknown[] = [id, labId, ...cols.map((c) => changes[c as keyof CaseValues])];
    const set = [...cols.map((c, i) => `${c} = $${i + 3}`), 'updated_at = now()'].join(', ');
    const found = await rows<RowWithRemakes>(
      em,
      `UPDATE cases SET ${set} WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL RETURNING ${CASE_COLUMNS}, ${REMAKES_COLUMN}`,
      params,
    );
    return found[0];
  }

  async findByNumber(
    em: Db,
    labId: string,
    caseNumber: string,
  ): Promise<StoredCaseRow | undefined> {
    const found = await rows<StoredCaseRow>(
      em,
      `SELECT ${CASE_COLUMNS} FROM cases WHERE lab_id = $1 AND case_number = $2 AND deleted_at IS NULL`,
      [labId, caseNumber],
    );
    return found[0];
  }

  /**
   * The next sequence number of a lab in a period (YYMM). Atomic: concurrent
   * creates of one lab queue on the counter row for the rest of their
   * transaction, so numbers are never duplicated (a rolled-back create leaves
   * no gap; a failed later step can).
   */
  async nextCaseSeq(em: Db, labId: string, period: string): Promise<number> {
    const found = await rows<{ last_seq: number }>(
      em,
      `INSERT INTO lab_case_counters (lab_id, period, last_seq) VALUES ($1, $2, 1)
       ON CONFLICT (lab_id, period) DO UPDATE SET last_seq = lab_case_counters.last_seq + 1
       RETURNING last_seq`,
      [labId, period],
    );
    return found[0].last_seq;
  }

  /** Soft delete: the row stays for retention and audit. */
  async softDelete(em: Db, labId: string, id: number): Promise<boolean> {
    const found = await rows<{ id: number }>(
      em,
      `UPDATE cases SET deleted_at = now(), updated_at = now() WHERE id = $1 AND lab_id = $2 AND deleted_at IS NULL RETURNING id`,
      [id, labId],
    );
    return found.length > 0;
  }
}
