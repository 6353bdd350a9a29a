import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { AuditService } from '../../audit';
import { CasesError } from '../../case-model';
import { PhiCipher, TEXT_BINDING } from '../../encryption';
import { AttachmentsError } from '../attachments.errors';
import { AttachmentsRepository } from '../attachments.repository';
import type { AttachmentActor } from './attachment-actor';

/**
 * Soft delete with a reason: the attachment leaves the API (list, download:
 * 404) and stays, row and bytes, until its case's retention purge. The
 * reason is free text and stored encrypted, on the row and in the timeline.
 */
@Injectable()
export class DeleteAttachment {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: AttachmentsRepository,
    private readonly phi: PhiCipher,
    private readonly audit: AuditService,
  ) {}

  async run(actor: AttachmentActor, caseId: number, id: string, reason: string): Promise<void> {
    const { labId } = actor;
    const [rowReason, eventReason] = await Promise.all([
      this.phi.encryptText(labId, TEXT_BINDING.attachmentDeleteReason(), reason),
      this.phi.encryptText(labId, TEXT_BINDING.eventReason(), reason),
    ]);
    await this.db.withLab(labId, async (em) => {
      const c = await this.repo.liveCase(em, labId, caseId, true);
      if (!c) throw CasesError.notFound();
      const row = await this.repo.softDelete(em, labId, caseId, id, actor.userId, rowReason);
      if (!row) throw AttachmentsError.notFound();
      await this.repo.timelineEvent(em, {
        labId,
        caseId,
        type: 'attachment_deleted',
        actorUserId: actor.userId,
        attachmentId: id,
        kind: row.kind,
        reason: eventReason,
        requestId: actor.requestId,
      });
      const patient = await this.phi.decrypt<{ patient_info: unknown }>(labId, c);
      await this.audit.recordChange(em, {
        labId,
        resourceType: 'attachment',
        resourceId: id,
        interaction: 'delete',
        changedFields: [
          { field: 'case_id', old: caseId },
          { field: 'deleted_at' },
          { field: 'reason' },
        ],
        patients: [patient.patient_info],
      });
    });
  }
}
