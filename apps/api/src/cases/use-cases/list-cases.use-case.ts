import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { PhiCipher } from '../../encryption';
import { LabSchedule } from '../../schedule';
import { CasesRepository, type StoredFilters } from '../cases.repository';
import { type CaseFilters, encodeCursor, type ListQuery } from '../dto/list-query';
import { CaseWrites } from './case-writes';
import type { CaseActor, CaseCursorPage, CasePage } from './case-use-case.types';

/** The lab's cases, newest first: offset pages or keyset (cursor) pages. */
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
    const filters = this.storedFilters(actor.labId, q.filters);
    if (q.filters.late !== undefined) {
      filters.late = {
        today: (await this.schedule.clock(actor.labId)).today,
        late: q.filters.late,
      };
    }
    return this.db.read(actor.labId, async (em) => {
      if (q.mode === 'cursor') {
        const found = await this.repo.after(em, actor.labId, filters, q.cursor, q.limit + 1);
        const more = found.length > q.limit;
        const page = more ? found.slice(0, q.limit) : found;
        const last = page[page.length - 1];
        return {
          cases: await this.cases.responses(actor.labId, page),
          next_cursor:
            more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
          limit: q.limit,
        };
      }
      const { rows: page, total } = await this.repo.pageWithTotal(
        em,
        actor.labId,
        filters,
        (q.page - 1) * q.perPage,
        q.perPage,
      );
      const pages = Math.ceil(total / q.perPage);
      return {
        cases: await this.cases.responses(actor.labId, page),
        pagination: {
          page: q.page,
          per_page: q.perPage,
          total,
          pages,
          has_prev: q.page > 1,
          has_next: q.page < pages,
        },
      };
    });
  }

  /** The patient id filter becomes its blind index: the plain value is never stored nor sent to SQL. */
  private storedFilters(labId: string, f: CaseFilters): StoredFilters {
    const { patient_id, late: _late, ...rest } = f;
    return patient_id === undefined
      ? rest
      : { ...rest, patient_id_bidx: this.phi.blindIndex(labId, patient_id) };
  }
}
