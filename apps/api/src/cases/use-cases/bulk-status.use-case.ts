import { Injectable } from '@nestjs/common';
import { AuditService } from '../../audit';
import { AuthError } from '../../ums-gateway';
import { CasesError, CasesErrorCode } from '../../case-model';
import type { CaseStatus } from '../../case-model';
import { ChangeStatus } from './change-status.use-case';
import type { BulkResultItem, CaseActor } from './case-use-case.types';

/**
 * The seed's bulk_update_case_status, done right: every case gets the
 * lifecycle rules and its own transaction and event; the answer reports
 * each case (a failure does not undo the others).
 */
@Injectable()
export class BulkStatus {
  constructor(
    private readonly changeStatus: ChangeStatus,
    private readonly audit: AuditService,
  ) {}

  async run(actor: CaseActor, ids: number[], status: CaseStatus, reason?: string) {
    const results: BulkResultItem[] = [];
    const notFound: number[] = [];
    for (const id of ids) {
      try {
        const c = await this.changeStatus.run(actor, id, status, reason);
        results.push({ id, ok: true, status: c.status, version: c.version });
      } catch (err) {
        if (!(err instanceof CasesError) && !(err instanceof AuthError)) throw err;
        const details = (err.details ?? {}) as { allowed_transitions?: string[] };
        if (err.code === CasesErrorCode.CaseNotFound) notFound.push(id);
        results.push({
          id,
          ok: false,
          code:
            err instanceof AuthError
              ? 403
              : err.code === CasesErrorCode.CaseNotFound
                ? 404
                : err.code === CasesErrorCode.IllegalTransition
                  ? 409
                  : 400,
          error: err.message,
          ...(details.allowed_transitions
            ? { allowed_transitions: details.allowed_transitions }
            : {}),
        });
      }
    }
    // Ids of other labs among them: a security event for each owning lab (the answer is the same).
    await this.audit.recordCrossLabAttempts(notFound);
    const succeeded = results.filter((r) => r.ok).length;
    return { succeeded, failed: results.length - succeeded, results };
  }
}
