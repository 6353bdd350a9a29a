import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type Db, TenantDb } from '@lhcms/database';
import { PhiCipher } from '../../encryption';
import { LabSchedule } from '../../schedule';
import { CasesError, CasesErrorCode } from '../../case-model';
import { CasesRepository, type CaseValues } from '../cases.repository';
import type { CaseInputBody, Json } from '../../case-model';
import { IdempotencyRepository } from '../idempotency.repository';
import { LinksHubClient } from '../linkshub/linkshub.client';
import { CaseWrites } from './case-writes';
import type { CaseActor, CreateResult } from './case-use-case.types';

/** The original stored a detail object only when it was non-empty. */
function detail(v: Json | null | undefined): Json | null {
  return v && Object.keys(v).length > 0 ? v : null;
}

/** YYMM of now in UTC (the case number's period). */
export function period(now = new Date()): string {
  return `${String(now.getUTCFullYear() % 100).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The lab's next case number, `<lab code>-<YYMM>-<seq>` (in the creating transaction). */
export async function nextCaseNumber(
  em: Db,
  repo: CasesRepository,
  actor: CaseActor,
): Promise<string> {
  const p = period();
  const seq = await repo.nextCaseSeq(em, actor.labId, p);
  const code =
    (actor.labCode ?? `L${actor.labId}`).replace(/[^A-Za-z0-9_]/g, '').slice(0, 20) ||
    `L${actor.labId}`;
  return `${code}-${p}-${String(seq).padStart(4, '0')}`;
}

const UNIQUE_VIOLATION = '23505';

class IdempotencyRace extends Error {}

/**
 * A new case in the actor's lab: status `pending`, a per-lab case number, the
 * `created` event and the audit row in one transaction. With an
 * Idempotency-Key, a repeated request (same key and body, also a concurrent
 * one) answers with the first case instead of creating another.
 */
@Injectable()
export class CreateCase {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: CasesRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly directory: LinksHubClient,
    private readonly phi: PhiCipher,
    private readonly cases: CaseWrites,
    private readonly schedule: LabSchedule,
  ) {}

  async run(actor: CaseActor, body: CaseInputBody, idempotencyKey?: string): Promise<CreateResult> {
    const hash = idempotencyKey
      ? createHash('sha256').update(JSON.stringify(body)).digest('hex')
      : '';
    if (idempotencyKey) {
      const earlier = await this.replay(actor, idempotencyKey, hash);
      if (earlier) return earlier;
    }
    if (this.directory.configured) {
      await this.directory.checkCreate(body.doctor_id, body.product_id, actor.labId, actor.token);
    }
    const dates = await this.schedule.plan(actor.labId, {
      caseType: body.case_type,
      productId: body.product_id,
      rush: body.rush_order ?? false,
      receivedAt: new Date(),
      dueDate: body.due_date,
    });
    const plain: Omit<CaseValues, 'case_number'> = {
      doctor_id: body.doctor_id,
      product_id: body.product_id,
      case_type: body.case_type,
      status: 'pending',
      case_name: body.case_name ?? null,
      description: body.description ?? null,
      priority: body.priority ?? 'medium',
      created_by: actor.userId,
      assigned_to: body.assigned_to ?? null,
      due_date: dates.due_date,
      ship_by: dates.ship_by,
      due_date_feasible: dates.due_date_feasible,
      rush_order: body.rush_order ?? false,
      special_instructions: body.special_instructions ?? null,
      patient_info: body.patient_info ?? null,
      fixed_prosthetic_details: detail(body.fixed_prosthetic),
      denture_details: detail(body.denture),
      night_guard_details: detail(body.night_guard),
      implant_details: detail(body.implant),
      patient_id_bidx: this.phi.patientIndex(actor.labId, body.patient_info),
      stage: null,
      remake_of: null,
      remake_reason: null,
      remake_responsibility: null,
      remake_chargeable: null,
    };
    const stored = await this.phi.encrypt(actor.labId, plain);
    try {
      const row = await this.db.withLab(actor.labId, async (em) => {
        const created = await this.repo.insert(em, actor.labId, {
          ...stored,
          case_number: await nextCaseNumber(em, this.repo, actor),
        });
        if (
          idempotencyKey &&
          !(await this.idempotency.claim(
            em,
            actor.labId,
            actor.userId,
            idempotencyKey,
            hash,
            created.id,
          ))
        ) {
          throw new IdempotencyRace();
        }
        return this.cases.recordCreated(em, actor, created, plain, body.patient_info);
      });
      return { case: row, replayed: false };
    } catch (err) {
      // A concurrent request with the same key committed first: answer with its case.
      const raced =
        err instanceof IdempotencyRace ||
        (idempotencyKey && (err as { code?: string }).code === UNIQUE_VIOLATION);
      if (raced && idempotencyKey) {
        const earlier = await this.replay(actor, idempotencyKey, hash);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  private async replay(
    actor: CaseActor,
    key: string,
    hash: string,
  ): Promise<CreateResult | undefined> {
    const found = await this.db.read(actor.labId, (em) =>
      this.idempotency.find(em, actor.labId, actor.userId, key),
    );
    if (!found) return undefined;
    if (found.request_hash !== hash) {
      throw new CasesError(
        CasesErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was used for a different request body',
      );
    }
    const row = await this.db.read(actor.labId, (em) =>
      this.repo.findById(em, actor.labId, found.case_id),
    );
    // The case this key created was deleted since: answer as for any deleted case, never create another.
    if (!row) throw CasesError.notFound();
    return { case: await this.cases.response(actor.labId, row), replayed: true };
  }
}
