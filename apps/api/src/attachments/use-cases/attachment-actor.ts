/** The caller of an attachment route: who, in which lab, in which request. */
export interface AttachmentActor {
  userId: string;
  labId: string;
  requestId: string;
}
