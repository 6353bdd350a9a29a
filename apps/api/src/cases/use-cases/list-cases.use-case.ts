import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { type Db, TenantDb } from '@lhcms/database';
import { CasesError } from '../../case-model';
import { PhiCipher } from '../../encryption';
import { LabSchedule } from '../../schedule';
import { CasesRepository, type StoredFilters } from '../cases.repository';
import {
  type CaseFilters,
  cursorFingerprint,
  DEFAULT_SORT,
  encodeQueueCursor,
  type ListQuery,
} from '../dto/list-query';
import { CaseWrites } from './case-writes';
import type { CaseActor, CaseCursorPage, CasePage } from './case-use-case.types';

/**
 * The lab's cases (newest first unless sorted): offset pages or keyset
 * (cursor) pages. The work queues' `at_risk` filter is decided here by the
 * schedule's own rule (ScheduleClock.timing, the rule behind the flags on
 * every case): SQL only narrows the rows to look at (the at-risk window),
 * then the ids of the at-risk ones filter the page query like any other
 * filter, so offset pages, totals and keyset cursors work unchanged.
 */
@Injectable()
export class ListCases {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly phi: PhiCipher,
    private readonly cases: CaseWrites,
    private readonly schedule: LabSchedule,
  ) {}

  /** Page defaults from configuration. */
  get pageDefaults(): { perPage: number; maxPerPage: number } {
    return { perPage: this.env.DEFAULT_PAGE_SIZE, maxPerPage: this.env.MAX_PAGE_SIZE };
  }

  async run(actor: CaseActor, q: ListQuery): Promise<CasePage | CaseCursorPage> {
    const sort = q.sort ?? DEFAULT_SORT;
    const filters = this.storedFilters(actor.labId, q.filters);
    const fingerprint = cursorFingerprint({
      ...filters,
      late: q.filters.late,
      at_risk: q.filters.at_risk,
    });
    // A cursor of the earlier format carries no fingerprint (default order only).
    if (q.mode === 'cursor' && q.cursor?.filters && q.cursor.filters !== fingerprint) {
      throw CasesError.invalidQuery({ cursor: 'was issued for other filters' });
    }
    if (q.filters.late !== undefined) {
      filters.late = {
        today: (await this.schedule.clock(actor.labId)).today,
        late: q.filters.late,
      };
    }
    // A list may be served by a standby (up to DATABASE_REPLICA_MAX_LAG_MS behind): reads by
    // id, and everything inside a write, stay on the primary (docs/operations.md, "Read replicas").
    return this.db.read(
      actor.labId,
      async (em) => {
        if (q.filters.at_risk !== undefined) {
          filters.at_risk = {
            ids: await this.atRiskIds(em, actor.labId, filters),
            at_risk: q.filters.at_risk,
          };
        }
        if (q.mode === 'cursor') {
          const found = await this.repo.after(
            em,
            actor.labId,
            filters,
            q.cursor,
            q.limit + 1,
            sort,
          );
          const more = found.length > q.limit;
          const page = more ? found.slice(0, q.limit) : found;
          const last = page[page.length - 1];
          return {
            cases: await this.cases.responses(actor.labId, page, em),
            next_cursor:
              more && last
                ? encodeQueueCursor({
                    sort,
                    filters: fingerprint,
                    key: (sort.field === 'created_at' ? last.created_at : last[sort.field]) ?? '',
                    id: last.id,
                  })
                : null,
            limit: q.limit,
          };
        }
        const { rows: page, total } = await this.repo.pageWithTotal(
          em,
          actor.labId,
          filters,
          (q.page - 1) * q.perPage,
          q.perPage,
          sort,
        );
        const pages = Math.ceil(total / q.perPage);
        return {
          cases: await this.cases.responses(actor.labId, page, em),
          pagination: {
            page: q.page,
            per_page: q.perPage,
            total,
            pages,
            has_prev: q.page > 1,
            has_next: q.page < pages,
          },
        };
      },
      { replica: true },
    );
  }

  /**
   * The lab's at-risk cases under the other filters: the rows in the
   * schedule's at-risk window, judged by the same clock and stage list as
   * the `at_risk` flag of each case in the answer. The window is at most
   * the stages' expected working days ahead, so this reads the open work
   * due soon — not the lab.
   */
  private async atRiskIds(em: Db, labId: string, filters: StoredFilters): Promise<number[]> {
    const clock = await this.schedule.clock(labId, new Date(), em);
    const stages = await this.cases.stageList(labId, em);
    const window = clock.atRiskWindow(stages);
    if (!window) return [];
    const { at_risk: _ignored, ...others } = filters;
    const candidates = await this.repo.atRiskCandidates(em, labId, others, window);
    return candidates.filter((c) => clock.timing(c, stages).at_risk).map((c) => c.id);
  }

  /** The patient id filter becomes its blind index: the plain value is never stored nor sent to SQL. */
  private storedFilters(labId: string, f: CaseFilters): StoredFilters {
    const { patient_id, late: _late, at_risk: _atRisk, ...rest } = f;
    return patient_id === undefined
      ? rest
      : { ...rest, patient_id_bidx: this.phi.blindIndex(labId, patient_id) };
  }
}
