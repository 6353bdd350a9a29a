/**
 * Every free-text value LHCMS stores encrypted outside the cases table's own
 * PHI columns (PHI_COLUMNS): one row per table column, with the name its
 * ciphertext is bound to (the AAD is `<lab>|<binding>`). The modules that
 * write and read these values take the binding from here
 * (`TEXT_BINDING.…`), and `lhcms keys rotate --reencrypt` walks the same
 * list, so a column added here is re-encrypted too and a column written
 * under another name cannot be. The key rotation test
 * (test/security/encryption.e2e-spec.ts) writes every kind of text and
 * fails when any other column of the database holds ciphertext.
 */
export interface EncryptedTextColumn {
  table: string;
  column: string;
  /** The primary key columns, in the order a keyset walk reads them. */
  key: readonly string[];
  /** The binding of one row's value (its key columns as read from the table). */
  binding(row: Record<string, unknown>): string;
}

/** The bindings, for the modules that encrypt and decrypt these values. */
export const TEXT_BINDING = {
  /** A reason given for a change on the case timeline (status, deletion, remake). */
  eventReason: (): string => 'case_events.reason',
  noteBody: (noteId: number): string => `case_notes.body#${noteId}`,
  noteDeleteReason: (noteId: number): string => `case_notes.delete_reason#${noteId}`,
  noteRevision: (noteId: number, revision: number): string =>
    `case_note_revisions.body#${noteId}.${revision}`,
  attachmentFilename: (): string => 'attachments.filename',
  attachmentDeleteReason: (): string => 'attachments.delete_reason',
  /** A webhook subscription's signing secrets, current and previous (not PHI; credentials). */
  webhookSecret: (): string => 'webhook_subscriptions.secret',
  /** The justification of an emergency-access grant (it may name a patient). */
  emergencyReason: (): string => 'emergency_grants.reason',
} as const;

export const ENCRYPTED_TEXT_COLUMNS: readonly EncryptedTextColumn[] = [
  {
    table: 'case_events',
    column: 'reason',
    key: ['id'],
    binding: () => TEXT_BINDING.eventReason(),
  },
  {
    table: 'case_notes',
    column: 'body',
    key: ['id'],
    binding: (r) => TEXT_BINDING.noteBody(Number(r.id)),
  },
  {
    table: 'case_notes',
    column: 'delete_reason',
    key: ['id'],
    binding: (r) => TEXT_BINDING.noteDeleteReason(Number(r.id)),
  },
  {
    table: 'case_note_revisions',
    column: 'body',
    key: ['note_id', 'revision'],
    binding: (r) => TEXT_BINDING.noteRevision(Number(r.note_id), Number(r.revision)),
  },
  {
    table: 'attachments',
    column: 'filename',
    key: ['id'],
    binding: () => TEXT_BINDING.attachmentFilename(),
  },
  {
    table: 'attachments',
    column: 'delete_reason',
    key: ['id'],
    binding: () => TEXT_BINDING.attachmentDeleteReason(),
  },
  {
    table: 'webhook_subscriptions',
    column: 'secret',
    key: ['id'],
    binding: () => TEXT_BINDING.webhookSecret(),
  },
  {
    table: 'webhook_subscriptions',
    column: 'previous_secret',
    key: ['id'],
    binding: () => TEXT_BINDING.webhookSecret(),
  },
  {
    table: 'emergency_grants',
    column: 'reason',
    key: ['id'],
    binding: () => TEXT_BINDING.emergencyReason(),
  },
];
