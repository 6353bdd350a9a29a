import { randomInt } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import {
  type CaseActor,
  type CaseCursorPage,
  type CasePage,
  CasesService,
} from '../../apps/api/src/cases/cases.service';
import { parseListQuery } from '../../apps/api/src/cases/dto/list-query';
import { LabSchedule } from '../../apps/api/src/schedule';

const DAY = 86_400_000;
const plusDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

/**
 * The work queues on the real wiring (issue 16): every sort in both
 * directions, paged by cursor and by offset, through a seeded lab with
 * missing and equal keys; and the at_risk filter against hand-computed
 * expectations. The calendar works every day in UTC, so today's date is the
 * only clock the expectations need (as in the schedule's e2e tests).
 */
describe('work queues (service tier): sorts, keyset cursors, at_risk', () => {
  let mod: TestingModule;
  let cases: CasesService;
  let owner: Client;
  const run = randomInt(1e9);
  const actorOf = (labId: string): CaseActor => ({
    userId: 'queue-user',
    labId,
    labCode: 'QUE',
    token: 'unused: no directory is configured',
    canReopen: false,
  });

  /** A list answer, from raw query parameters as the controller reads them. */
  const list = async (actor: CaseActor, q: Record<string, string>) => {
    const parsed = parseListQuery(q, { perPage: 20, maxPerPage: 100 });
    if ('errors' in parsed) throw new Error(JSON.stringify(parsed.errors));
    return cases.list(actor, parsed.ok);
  };

  interface Seed {
    due: string | null;
    ship: string | null;
    status?: string;
    stage?: string | null;
    /** Seconds after the lab's base instant (equal values: equal created_at). */
    at: number;
  }

  /** Creates the cases, then sets their dates, status and stage as given (the owner bypasses the API's rules). */
  async function seed(actor: CaseActor, seeds: Seed[]) {
    const made: Array<Seed & { id: number; created_at: string }> = [];
    for (const s of seeds) {
      const { case: c } = await cases.create(actor, {
        doctor_id: 'q-doc',
        product_id: 'q-prod',
        case_type: 'fixed_prosthetic',
      });
      const base = Date.parse('2026-03-01T08:00:00.123456Z');
      const createdAt = new Date(base + s.at * 1000).toISOString().replace('Z', '456Z');
      await owner.query(
        `UPDATE cases SET due_date = $2, ship_by = $3, stage = $4, created_at = $5 WHERE id = $1`,
        [c.id, s.due, s.ship, s.stage ?? null, createdAt],
      );
      // Through the lifecycle's legal moves (the database refuses others).
      const status = s.status ?? 'pending';
      for (const step of status === 'completed' ? ['in_progress', 'completed'] : [status]) {
        if (step === 'pending') continue;
        await owner.query(`UPDATE cases SET status = $2, held_from_status = $3 WHERE id = $1`, [
          c.id,
          step,
          step === 'on_hold' ? 'pending' : null,
        ]);
      }
      made.push({ ...s, id: c.id, created_at: createdAt });
    }
    return made;
  }

  beforeAll(async () => {
    mod = await Test.createTestingModule({ imports: [AppModule.forRoot(testEnv())] }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    cases = mod.get(CasesService);
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });

  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  describe('sorted lists', () => {
    const actor = actorOf(`q${run}s`);
    let made: Awaited<ReturnType<typeof seed>>;
    const D = ['2026-04-01', '2026-04-02', '2026-04-03', '2026-04-10'];

    beforeAll(async () => {
      // 23 cases: due dates with runs of equal ones and 5 without; ship-by
      // missing on others; created_at equal in threes.
      const seeds: Seed[] = [];
      const dues = [
        1,
        0,
        null,
        1,
        3,
        1,
        null,
        2,
        0,
        1,
        null,
        3,
        2,
        2,
        null,
        0,
        1,
        3,
        null,
        1,
        0,
        2,
        1,
      ];
      dues.forEach((d, i) =>
        seeds.push({
          due: d === null ? null : D[d],
          ship: i % 4 === 0 ? null : D[(i * 7) % 4],
          at: Math.floor(i / 3),
        }),
      );
      made = await seed(actor, seeds);
    });

    /** The expected order, computed apart: missing keys last, then the key, then the id, in the direction. */
    const expected = (field: 'due_date' | 'ship_by' | 'created_at', desc: boolean, rows = made) => {
      const key = (r: (typeof made)[number]) =>
        field === 'due_date' ? r.due : field === 'ship_by' ? r.ship : r.created_at;
      const sign = desc ? -1 : 1;
      return [...rows]
        .sort((a, b) => {
          const [ka, kb] = [key(a), key(b)];
          if (ka === null || kb === null)
            return ka === kb ? sign * (a.id - b.id) : ka === null ? 1 : -1;
          if (ka !== kb) return sign * (ka < kb ? -1 : 1);
          return sign * (a.id - b.id);
        })
        .map((r) => r.id);
    };

    const SORTS = [
      ['due_date', false],
      ['due_date', true],
      ['ship_by', false],
      ['ship_by', true],
      ['created_at', false],
      ['created_at', true],
    ] as const;

    it.each(SORTS)(
      'sort %s (desc: %s): cursor pages find every case exactly once, in order',
      async (field, desc) => {
        const sort = `${desc ? '-' : ''}${field}`;
        for (const limit of [1, 4, 5]) {
          const seen: number[] = [];
          let cursor: string | null = '';
          let pages = 0;
          do {
            const page = (await list(actor, {
              sort,
              limit: String(limit),
              ...(cursor ? { cursor } : {}),
            })) as CaseCursorPage;
            expect(page.cases.length).toBeLessThanOrEqual(limit);
            seen.push(...page.cases.map((c) => c.id));
            cursor = page.next_cursor;
            expect(++pages).toBeLessThan(made.length + 2);
          } while (cursor);
          expect([sort, limit, seen]).toEqual([sort, limit, expected(field, desc)]);
        }
      },
    );

    it.each(SORTS)(
      'sort %s (desc: %s): offset pages agree, with the total',
      async (field, desc) => {
        const sort = `${desc ? '-' : ''}${field}`;
        const seen: number[] = [];
        for (let page = 1; page <= 6; page++) {
          const p = (await list(actor, { sort, page: String(page), per_page: '4' })) as CasePage;
          expect(p.pagination).toMatchObject({ total: made.length, pages: 6, page });
          seen.push(...p.cases.map((c) => c.id));
        }
        expect(seen).toEqual(expected(field, desc));
        // Past the end: empty, the total still right.
        const past = (await list(actor, { sort, page: '7', per_page: '4' })) as CasePage;
        expect(past.cases).toEqual([]);
        expect(past.pagination.total).toBe(made.length);
      },
    );

    it('sorts within the filters: due by a date, earliest first, the keyless excluded by the filter', async () => {
      const queue = made.filter((r) => r.due !== null && r.due <= D[1]);
      const seen: number[] = [];
      let cursor: string | null = '';
      do {
        const page = (await list(actor, {
          sort: 'due_date',
          due_to: D[1],
          limit: '3',
          ...(cursor ? { cursor } : {}),
        })) as CaseCursorPage;
        seen.push(...page.cases.map((c) => c.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual(expected('due_date', false, queue));
      // Hand-checked head: the four cases due on D[0], by id.
      expect(seen.slice(0, 4)).toEqual(made.filter((r) => r.due === D[0]).map((r) => r.id));
    });

    it('the default order is the original one, and its cursor still pages it', async () => {
      const plain = (await list(actor, { per_page: '100' })) as CasePage;
      expect(plain.cases.map((c) => c.id)).toEqual(expected('created_at', true));
      const first = (await list(actor, { limit: '10' })) as CaseCursorPage;
      const second = (await list(actor, {
        limit: '10',
        cursor: first.next_cursor!,
      })) as CaseCursorPage;
      expect([...first.cases, ...second.cases].map((c) => c.id)).toEqual(
        expected('created_at', true).slice(0, 20),
      );
    });

    it('refuses a cursor replayed with other filters or another sort (400, not wrong pages)', async () => {
      const page = (await list(actor, {
        sort: 'due_date',
        due_to: D[2],
        limit: '2',
      })) as CaseCursorPage;
      const cursor = page.next_cursor!;
      const refusal = (q: Record<string, string>) =>
        list(actor, q).then(
          () => 'accepted',
          (e: { code?: string; details?: { errors?: unknown } }) => [e.code, e.details?.errors],
        );
      expect(await refusal({ sort: 'due_date', due_to: D[2], limit: '2', cursor })).toBe(
        'accepted',
      );
      expect(await refusal({ sort: 'due_date', due_to: D[3], limit: '2', cursor })).toEqual([
        'CASE_INVALID_QUERY',
        { cursor: 'was issued for other filters' },
      ]);
      expect(await refusal({ sort: 'due_date', limit: '2', cursor })).toEqual([
        'CASE_INVALID_QUERY',
        { cursor: 'was issued for other filters' },
      ]);
      expect(() =>
        parseListQuery(
          { sort: '-due_date', due_to: D[2], cursor },
          { perPage: 20, maxPerPage: 100 },
        ),
      ).not.toThrow();
      expect(
        parseListQuery(
          { sort: '-due_date', due_to: D[2], cursor },
          { perPage: 20, maxPerPage: 100 },
        ),
      ).toEqual({ errors: { cursor: 'was issued for another sort' } });
    });
  });

  describe('at_risk', () => {
    const actor = actorOf(`q${run}r`);
    const today = new Date().toISOString().slice(0, 10);
    let made: Awaited<ReturnType<typeof seed>>;
    let atRisk: number[];

    beforeAll(async () => {
      const schedule = mod.get(LabSchedule);
      await schedule.saveCalendar(actor.labId, 'queue-admin', {
        time_zone: 'UTC',
        working_days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        cutoff: '23:59',
      });
      // Every stage before production: 0 + 1 + 2 = 3 working days.
      await schedule.saveTurnaround(actor.labId, 'queue-admin', {
        entries: [
          {
            case_type: 'fixed_prosthetic',
            product_id: null,
            standard_days: 4,
            rush_days: 2,
            transit_days: 1,
          },
        ],
        stage_days: {
          received: 0,
          design: 1,
          manufacturing: 2,
          finishing: 0,
          qc: 0,
          ready_to_ship: 0,
        },
      });
      const t = (n: number) => plusDays(today, n);
      made = await seed(actor, [
        /* 0 */ { due: t(1), ship: t(0), at: 0 }, // pending, 1 day left < 3: at risk
        /* 1 */ { due: t(2), ship: t(1), at: 1 }, // 2 < 3: at risk
        /* 2 */ { due: t(3), ship: t(2), at: 2 }, // 3 = 3: not
        /* 3 */ { due: t(0), ship: t(-1), at: 3 }, // late, so not at risk
        /* 4 */ { due: t(1), ship: t(0), status: 'completed', stage: 'qc', at: 4 }, // finished
        /* 5 */ { due: t(1), ship: t(0), status: 'in_progress', stage: 'shipped', at: 5 }, // gone
        /* 6 */ { due: t(2), ship: t(1), status: 'in_progress', stage: 'manufacturing', at: 6 }, // 2 = 2: not
        /* 7 */ { due: t(1), ship: t(0), status: 'in_progress', stage: 'manufacturing', at: 7 }, // 1 < 2: at risk
        /* 8 */ { due: t(1), ship: t(0), status: 'in_progress', stage: 'qc', at: 8 }, // needs 0: not
        /* 9 */ { due: t(1), ship: null, at: 9 }, // no ship-by: the due date, 2 < 3: at risk
        /* 10 */ { due: null, ship: null, at: 10 }, // no dates: never
        /* 11 */ { due: t(30), ship: t(29), at: 11 }, // far: not
        /* 12 */ { due: t(1), ship: t(0), status: 'on_hold', at: 12 }, // on hold pauses nothing: at risk
        /* 13 */ { due: t(1), ship: t(1), status: 'in_progress', stage: 'design', at: 13 }, // 2 < 3: at risk
      ]);
      atRisk = [0, 1, 7, 9, 12, 13].map((i) => made[i].id);
    });

    const ids = async (q: Record<string, string>) => {
      const page = (await list(actor, { limit: '100', ...q })) as CaseCursorPage;
      return page.cases.map((c) => c.id);
    };
    const byId = (xs: number[]) => [...xs].sort((a, b) => a - b);

    it('lists exactly the cases the flag marks, and the others for false', async () => {
      const risky = (await list(actor, { at_risk: 'true', per_page: '100' })) as CasePage;
      expect(byId(risky.cases.map((c) => c.id))).toEqual(byId(atRisk));
      expect(risky.cases.every((c) => c.at_risk)).toBe(true);
      expect(risky.pagination.total).toBe(atRisk.length);
      const calm = (await list(actor, { at_risk: 'false', per_page: '100' })) as CasePage;
      expect(byId(calm.cases.map((c) => c.id))).toEqual(
        byId(made.map((m) => m.id).filter((id) => !atRisk.includes(id))),
      );
      expect(calm.cases.some((c) => c.at_risk)).toBe(false);
      expect(calm.pagination.total).toBe(made.length - atRisk.length);
    });

    it('pages at-risk work by cursor in a sort, every case once', async () => {
      const seen: number[] = [];
      let cursor: string | null = '';
      do {
        const page = (await list(actor, {
          at_risk: 'true',
          sort: 'ship_by',
          limit: '2',
          ...(cursor ? { cursor } : {}),
        })) as CaseCursorPage;
        seen.push(...page.cases.map((c) => c.id));
        cursor = page.next_cursor;
      } while (cursor);
      // Ship-by today (0, 7, 12 by id), tomorrow (1, 13), then none (9).
      expect(seen).toEqual([0, 7, 12, 1, 13, 9].map((i) => made[i].id));
    });

    it('combines with the other filters; late and at risk together is always empty', async () => {
      expect(byId(await ids({ at_risk: 'true', stage: 'manufacturing' }))).toEqual([made[7].id]);
      expect(byId(await ids({ at_risk: 'true', due_to: plusDays(today, 1) }))).toEqual(
        byId([0, 7, 9, 12, 13].map((i) => made[i].id)),
      );
      expect(await ids({ at_risk: 'true', late: 'true' })).toEqual([]);
      expect(await ids({ at_risk: 'false', late: 'true' })).toEqual([made[3].id]);
    });

    it('another lab sees none of them', async () => {
      expect(await ids({ at_risk: 'true' })).toHaveLength(atRisk.length);
      const other = (await cases.list(actorOf(`q${run}x`), {
        mode: 'cursor',
        limit: 100,
        filters: { at_risk: true },
      })) as CaseCursorPage;
      expect(other.cases).toEqual([]);
    });
  });
});
