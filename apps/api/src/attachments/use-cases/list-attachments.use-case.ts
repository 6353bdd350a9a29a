import { Injectable } from '@nestjs/common';
import { TenantDb } from '@lhcms/database';
import { CasesError } from '../../case-model';
import { PhiCipher, TEXT_BINDING } from '../../encryption';
import { type AttachmentResponse, toAttachmentResponse } from '../attachment.response';
import { AttachmentsRepository } from '../attachments.repository';
import { withAuditFacts } from '../audit-facts';
import type { AttachmentActor } from './attachment-actor';

/** The live attachments of a live case (metadata only), oldest first; an audited disclosure. */
@Injectable()
export class ListAttachments {
  constructor(
    private readonly db: TenantDb,
    private readonly repo: AttachmentsRepository,
    private readonly phi: PhiCipher,
  ) {}

  async run(
    actor: AttachmentActor,
    caseId: number,
  ): Promise<{ attachments: AttachmentResponse[] }> {
    const { labId } = actor;
    const { c, list } = await this.db.read(labId, async (em) => {
      const c = await this.repo.liveCase(em, labId, caseId);
      if (!c) throw CasesError.notFound();
      return { c, list: await this.repo.list(em, labId, caseId) };
    });
    const attachments: AttachmentResponse[] = [];
    for (const row of list) {
      const name = await this.phi.decryptText(
        labId,
        TEXT_BINDING.attachmentFilename(),
        row.filename,
      );
      attachments.push(toAttachmentResponse(row, name));
    }
    const patient = await this.phi.decrypt<{ patient_info: unknown }>(labId, c);
    return withAuditFacts(
      { attachments },
      {
        ids: attachments.map((a) => a.id),
        count: attachments.length,
        patients: attachments.length > 0 ? [patient.patient_info] : [],
        detail: { case_id: caseId },
      },
    );
  }
}
