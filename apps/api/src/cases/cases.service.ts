import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { TenantDb } from '@lhcms/database';
import { CasesError } from './cases.errors';
import { PhiCipher } from '../encryption/phi-cipher';
import { CasesRepository, type CaseValues, type StoredFilters } from './cases.repository';
import {
  type CaseResponse,
  type CaseRow,
  type StoredCaseRow,
  toCaseResponse,
} from './dto/case.response';
import type {
  CaseInputBody,
  CaseStatus,
  CaseUpdateBody,
  DetailKind,
  Json,
} from './dto/case.schemas';
import { type CaseFilters, encodeCursor, type ListQuery } from './dto/list-query';
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
    private readonly phi: PhiCipher,
  ) {}

  private storedFilters(labId: string, f: CaseFilters): StoredFilters {
    const { patient_id, ...rest } = f;
    return patient_id === undefined
      ? rest
      : { ...rest, patient_id_bidx: this.phi.blindIndex(labId, patient_id) };
  }

  private plain(labId: string, row: StoredCaseRow): Promise<CaseRow> {
    return this.phi.decrypt(labId, row) as Promise<CaseRow>;
  }

  private async plainAll(labId: string, rows: StoredCaseRow[]): Promise<CaseResponse[]> {
    return (await this.phi.decryptAll(labId, rows)).map((r) => toCaseResponse(r as CaseRow));
  }

  async list(actor: CaseActor, q: ListQuery): Promise<CasePage | CaseCursorPage> {
    const filters = this.storedFilters(actor.labId, q.filters);
    return this.db.withLab(actor.labId, async (em) => {
      if (q.mode === 'cursor') {
        const rows = await this.repo.after(em, actor.labId, filters, q.cursor, q.limit + 1);
        const more = rows.length > q.limit;
        const page = more ? rows.slice(0, q.limit) : rows;
        const last = page[page.length - 1];
        return {
          cases: await this.plainAll(actor.labId, page),
          next_cursor:
            more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
          limit: q.limit,
        };
      }
      const [total, rows] = await Promise.all([
        this.repo.count(em, actor.labId, filters),
        this.repo.page(em, actor.labId, filters, (q.page - 1) * q.perPage, q.perPage),
      ]);
      const pages = Math.ceil(total / q.perPage);
      return {
        cases: await this.plainAll(actor.labId, rows),
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
    return toCaseResponse(await this.plain(actor.labId, row));
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
      patient_id_bidx: this.phi.patientIndex(actor.labId, body.patient_info),
    };
    const stored = await this.phi.encrypt(actor.labId, values);
    const row = await this.db.withLab(actor.labId, (em) =>
      this.repo.insert(em, actor.labId, stored),
    );
    return toCaseResponse(await this.plain(actor.labId, row));
  }

  /** Partial update (the original's PUT); `null` clears a nullable field. Unchanged fields leave updated_at alone. */
  async update(actor: CaseActor, id: number, body: CaseUpdateBody): Promise<CaseResponse> {
    return this.db.withLab(actor.labId, async (em) => {
      const stored = await this.repo.findById(em, actor.labId, id, true);
      if (!stored) throw CasesError.notFound();
      const current = await this.plain(actor.labId, stored);
      const changes = this.changesOf(current, body);
      if (Object.keys(changes).length === 0) return toCaseResponse(current);
      if (changes.patient_info !== undefined) {
        changes.patient_id_bidx = this.phi.patientIndex(actor.labId, changes.patient_info);
      }
      const row = await this.repo.update(
        em,
        actor.labId,
        id,
        await this.phi.encrypt(actor.labId, changes),
      );
      if (!row) throw CasesError.notFound();
      return toCaseResponse(await this.plain(actor.labId, row));
    });
  }

  async changeStatus(actor: CaseActor, id: number, status: CaseStatus): Promise<CaseResponse> {
    return this.update(actor, id, { status });
  }

  async remove(actor: CaseActor, id: number): Promise<void> {
    const deleted = await this.db.withLab(actor.labId, (em) =>
      this.repo.softDelete(em, actor.labId, id),
    );
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
