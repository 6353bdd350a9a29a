import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { AuditService } from '../audit';
import { CasesError } from './cases.errors';
import { CasesRepository, type CaseValues } from './cases.repository';
import { type CaseResponse, type CaseRow, toCaseResponse } from './dto/case.response';
import type {
  CaseInputBody,
  CaseStatus,
  CaseUpdateBody,
  DetailKind,
  Json,
} from './dto/case.schemas';
import { encodeCursor, type ListQuery } from './dto/list-query';
import { LinksHubClient } from './linkshub/linkshub.client';

/** Who acts, in which lab (from the request context). */
export interface CaseActor {
  userId: string;
  labId: string;
  /** The caller's bearer token, forwarded to the doctor directory. */
  token: string;
}

export interface CasePage {
  cases: CaseResponse[];
  pagination: {
    page: number;
    per_page: number;
    total: number;
    pages: number;
    has_prev: boolean;
    has_next: boolean;
  };
}

export interface CaseCursorPage {
  cases: CaseResponse[];
  next_cursor: string | null;
  limit: number;
}

const DETAIL_COLUMN: Record<DetailKind, keyof CaseValues> = {
  fixed_prosthetic: 'fixed_prosthetic_details',
  denture: 'denture_details',
  night_guard: 'night_guard_details',
  implant: 'implant_details',
};

/** The original stored a detail object only when it was non-empty. */
function detail(v: Json | null | undefined): Json | null {
  return v && Object.keys(v).length > 0 ? v : null;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Case use cases. Every unit of work runs in one lab-scoped transaction
 * (TenantDb), so a write and what it implies commit together.
 */
@Injectable()
export class CasesService {
  constructor(
    @Inject(Env) private readonly env: Env,
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly directory: LinksHubClient,
    private readonly audit: AuditService,
  ) {}

  async list(actor: CaseActor, q: ListQuery): Promise<CasePage | CaseCursorPage> {
    return this.db.withLab(actor.labId, async (em) => {
      if (q.mode === 'cursor') {
        const rows = await this.repo.after(em, actor.labId, q.filters, q.cursor, q.limit + 1);
        const more = rows.length > q.limit;
        const page = more ? rows.slice(0, q.limit) : rows;
        const last = page[page.length - 1];
        return {
          cases: page.map(toCaseResponse),
          next_cursor:
            more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
          limit: q.limit,
        };
      }
      const [total, rows] = await Promise.all([
        this.repo.count(em, actor.labId, q.filters),
        this.repo.page(em, actor.labId, q.filters, (q.page - 1) * q.perPage, q.perPage),
      ]);
      const pages = Math.ceil(total / q.perPage);
      return {
        cases: rows.map(toCaseResponse),
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

  async get(actor: CaseActor, id: number): Promise<CaseResponse> {
    const row = await this.db.withLab(actor.labId, (em) => this.repo.findById(em, actor.labId, id));
    if (!row) throw CasesError.notFound();
    return toCaseResponse(row);
  }

  async create(actor: CaseActor, body: CaseInputBody): Promise<CaseResponse> {
    if (this.directory.configured) {
      await this.directory.checkCreate(body.doctor_id, body.product_id, actor.labId, actor.token);
    }
    const values: CaseValues = {
      doctor_id: body.doctor_id,
      product_id: body.product_id,
      case_type: body.case_type,
      status: 'pending',
      case_name: body.case_name ?? null,
      description: body.description ?? null,
      priority: body.priority ?? 'medium',
      created_by: actor.userId,
      assigned_to: body.assigned_to ?? null,
      due_date: body.due_date ?? null,
      rush_order: body.rush_order ?? false,
      special_instructions: body.special_instructions ?? null,
      patient_info: body.patient_info ?? null,
      fixed_prosthetic_details: detail(body.fixed_prosthetic),
      denture_details: detail(body.denture),
      night_guard_details: detail(body.night_guard),
      implant_details: detail(body.implant),
    };
    const row = await this.db.withLab(actor.labId, async (em) => {
      const created = await this.repo.insert(em, actor.labId, values);
      await this.audit.recordChange(em, {
        labId: actor.labId,
        resourceType: 'case',
        resourceId: created.id,
        interaction: 'create',
        changedFields: this.audit.caseChangedFields({ ...values }),
        patients: [body.patient_info],
      });
      return created;
    });
    return toCaseResponse(row);
  }

  /** Partial update (the original's PUT); `null` clears a nullable field. Unchanged fields leave updated_at alone. */
  async update(
    actor: CaseActor,
    id: number,
    body: CaseUpdateBody,
    interaction: 'update' | 'status_change' = 'update',
  ): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const current = await this.repo.findById(em, actor.labId, id, true);
      if (!current) throw CasesError.notFound();
      const changes = this.changesOf(current, body);
      // Also a no-op update is audited: the response discloses the case.
      const auditChange = () =>
        this.audit.recordChange(em, {
          labId: actor.labId,
          resourceType: 'case',
          resourceId: id,
          interaction,
          changedFields: this.audit.caseChangedFields(changes, { ...current }),
          patients: [current.patient_info, changes.patient_info],
        });
      if (Object.keys(changes).length === 0) {
        await auditChange();
        return toCaseResponse(current);
      }
      const row = await this.repo.update(em, actor.labId, id, changes);
      if (!row) throw CasesError.notFound();
      await auditChange();
      return toCaseResponse(row);
    });
  }

  async changeStatus(actor: CaseActor, id: number, status: CaseStatus): Promise<CaseResponse> {
    return this.update(actor, id, { status }, 'status_change');
  }

  async remove(actor: CaseActor, id: number): Promise<void> {
    const deleted = await this.db.withLab(actor.labId, async (em) => {
      // The row as the service sees it: the audit's patient ref comes from its plaintext view.
      const current = await this.repo.findById(em, actor.labId, id, true);
      if (!current || !(await this.repo.softDelete(em, actor.labId, id))) return false;
      await this.audit.recordChange(em, {
        labId: actor.labId,
        resourceType: 'case',
        resourceId: id,
        interaction: 'delete',
        changedFields: [],
        patients: [current.patient_info],
      });
      return true;
    });
    if (!deleted) throw CasesError.notFound();
  }

  private changesOf(current: CaseRow, body: CaseUpdateBody): Partial<CaseValues> {
    const changes: Partial<CaseValues> = {};
    const set = <K extends keyof CaseValues>(
      col: K,
      next: CaseValues[K] | undefined,
      now: unknown,
    ) => {
      if (next === undefined) return;
      if (!sameJson(next, now)) changes[col] = next;
    };
    set('case_name', body.case_name, current.case_name);
    set('description', body.description, current.description);
    set('priority', body.priority, current.priority);
    set('status', body.status, current.status);
    set('assigned_to', body.assigned_to, current.assigned_to);
    set('due_date', body.due_date, current.due_date);
    set('rush_order', body.rush_order, current.rush_order);
    set('special_instructions', body.special_instructions, current.special_instructions);
    set('case_type', body.case_type, current.case_type);
    // Replaced wholesale, as in the original (no merge).
    set('patient_info', body.patient_info, current.patient_info);
    const details: Record<DetailKind, Json | null> = {
      fixed_prosthetic: current.fixed_prosthetic_details,
      denture: current.denture_details,
      night_guard: current.night_guard_details,
      implant: current.implant_details,
    };
    for (const kind of Object.keys(DETAIL_COLUMN) as DetailKind[]) {
      const v = body[kind];
      if (v === undefined) continue;
      // An empty object was ignored by the original; null clears.
      if (v !== null && Object.keys(v).length === 0) continue;
      set(DETAIL_COLUMN[kind], v, details[kind]);
    }
    return changes;
  }

  /** Page defaults from configuration. */
  get pageDefaults(): { perPage: number; maxPerPage: number } {
    return { perPage: this.env.DEFAULT_PAGE_SIZE, maxPerPage: this.env.MAX_PAGE_SIZE };
  }
}
