import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `lhcms keys rotate --reencrypt` rewrites every encrypted free-text value
 * under the lab's newest data key (apps/api/src/encryption/encrypted-text.ts),
 * and two of those columns live in append-only tables: the timeline's
 * `case_events.reason` and `case_note_revisions.body`. Their triggers now let
 * exactly that through: an UPDATE by the table's owner, in a session with
 * `lhcms.reencrypt` on, that changes the ciphertext column and nothing else.
 * A rotation does not change what the row says (the same text under another
 * key), so the tables stay append-only in meaning; every other UPDATE is
 * refused as before, for every role, and DELETE keeps its rule.
 */
const TABLES = [
  { table: 'case_events', fn: 'lhcms_case_events_append_only', column: 'reason' },
  { table: 'case_note_revisions', fn: 'lhcms_case_note_revisions_append_only', column: 'body' },
] as const;

function fnBody(table: string, column: string | undefined): string {
  const owner = `current_user = (SELECT tableowner FROM pg_tables
                                WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME)`;
  const reencrypt = column
    ? `
        IF TG_OP = 'UPDATE' AND ${owner}
           AND current_setting('lhcms.reencrypt', true) = 'on'
           AND (to_jsonb(NEW) - '${column}') = (to_jsonb(OLD) - '${column}') THEN
          RETURN NEW;
        END IF;`
    : '';
  return `
      BEGIN
        IF TG_OP = 'DELETE' AND ${owner} THEN
          RETURN OLD;
        END IF;${reencrypt}
        RAISE EXCEPTION '${table} is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END`;
}

export class ReencryptAppendOnly1765680000000 implements MigrationInterface {
  name = 'ReencryptAppendOnly1765680000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of TABLES) {
      await q.query(
        `CREATE OR REPLACE FUNCTION ${t.fn}() RETURNS trigger LANGUAGE plpgsql AS $$${fnBody(t.table, t.column)} $$`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of TABLES) {
      await q.query(
        `CREATE OR REPLACE FUNCTION ${t.fn}() RETURNS trigger LANGUAGE plpgsql AS $$${fnBody(t.table, undefined)} $$`,
      );
    }
  }
}
