/** What other modules may use of the attachments module. */
export { AttachmentsModule } from './attachments.module';
export { ATTACHMENT_STORE } from './attachment-store';
export { attachmentsFsck, type FsckReport } from './attachments-fsck';
