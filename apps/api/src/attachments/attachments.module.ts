import { Module } from '@nestjs/common';
import { Env } from '@lhcms/config';
import { createObjectStore, TransferGc } from '@lhcms/storage';
import { EncryptionModule } from '../encryption';
import { MetricsService } from '../metrics';
import { ATTACHMENT_STORE, MeteredObjectStore } from './attachment-store';
import { AttachmentsController } from './attachments.controller';
import { AttachmentsRepository } from './attachments.repository';
import { DeleteAttachment } from './use-cases/delete-attachment.use-case';
import { DownloadAttachment } from './use-cases/download-attachment.use-case';
import { ListAttachments } from './use-cases/list-attachments.use-case';
import { UploadAttachment } from './use-cases/upload-attachment.use-case';

/**
 * Case attachments (docs/api.md, "Attachments"): files streamed into the
 * configured object store, encrypted with the lab's data key, their metadata
 * in the `attachments` table under row-level security.
 */
@Module({
  imports: [EncryptionModule],
  controllers: [AttachmentsController],
  providers: [
    {
      provide: ATTACHMENT_STORE,
      inject: [Env, MetricsService],
      useFactory: (env: Env, metrics: MetricsService) =>
        new MeteredObjectStore(createObjectStore(env), metrics),
    },
    {
      provide: TransferGc,
      inject: [Env],
      useFactory: (env: Env) => new TransferGc(env.ATTACHMENT_GC_EVERY_MIB * 2 ** 20),
    },
    AttachmentsRepository,
    UploadAttachment,
    ListAttachments,
    DownloadAttachment,
    DeleteAttachment,
  ],
  exports: [ATTACHMENT_STORE],
})
export class AttachmentsModule {}
