import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Env } from '@lhcms/config';
import { auditKeys } from './audit-keys';
import { AuditReviewRepository } from './audit-review.repository';
import { chainId } from './chain-sealer';
import { databaseDigestPages, strayEvents } from './chain-sources';
import { type ProblemKind, type VerifyReport, verifyChain } from './chain-verifier';
import { CheckpointStore } from './checkpoints';
import { typeormSql } from './sql';

/**
 * What a lab admin is told about the shared chain: whether it verifies, and
 * the lab's own events it covers. Nothing that counts other labs' events (no
 * positions, no chain size, no checkpoint count); where a problem sits is
 * for operators (`lhcms audit verify`).
 */
export interface LabVerifyReport {
  status: VerifyReport['status'];
  chain_id: string;
  scope: 'lab';
  lab_id: string;
  /** This lab's events in the verified part of the chain. */
  entries_checked: number;
  problem?: { kind: ProblemKind; detail: string };
}

export const LAB_PROBLEM_DETAIL =
  'The shared audit chain does not verify. Where and what is for your operator: `lhcms audit verify`.';

/**
 * The verify endpoint's verifier: the whole chain and the checkpoints, as the
 * application role, with event digests from the database. One run at a time
 * (concurrent callers share it). The authoritative check is `lhcms audit
 * verify`, which rebuilds every digest outside the database.
 */
@Injectable()
export class AuditVerifier {
  private inflight: Promise<VerifyReport> | undefined;

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
    private readonly repo: AuditReviewRepository,
  ) {}

  verify(): Promise<VerifyReport> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** The whole chain verified, reported in terms of one lab's events only. */
  async verifyForLab(labId: string): Promise<LabVerifyReport> {
    const r = await this.verify();
    return {
      status: r.status,
      chain_id: r.chain_id,
      scope: 'lab',
      lab_id: labId,
      entries_checked: await this.repo.verifiedCount(labId, r.last_position),
      ...(r.problem ? { problem: { kind: r.problem.kind, detail: LAB_PROBLEM_DETAIL } } : {}),
    };
  }

  private async run(): Promise<VerifyReport> {
    const sql = typeormSql(this.ds);
    const key = auditKeys(this.env).chain;
    const id = await chainId(sql);
    const store = new CheckpointStore(this.env.auditCheckpointDir, id, key);
    return verifyChain(key, id, databaseDigestPages(sql), store.list(), strayEvents(sql));
  }
}
