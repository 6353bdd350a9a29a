import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appRole, enableTenantRls, grantToApp } from '../libs/database/src/migration-helpers';

/**
 * Emergency access (break-glass, issue 19; docs/hipaa.md#emergency-access).
 *
 * - `emergency_grants`: one row per grant a platform-role user asked for on a
 *   lab (optionally one case). A tenant table under forced row-level
 *   security: the lab's admins see their lab's grants. `reason` is free text
 *   and may carry PHI: stored encrypted with the lab's data key
 *   (PhiCipher.encryptText, bound to `emergency_grants.reason`). A grant ends
 *   at `expires_at` or when revoked; with second-person approval configured
 *   it starts `pending` (no `expires_at` until approved). Never deleted: it is
 *   part of the lab's record of who reached its data.
 * - Two narrow SECURITY DEFINER functions for what row-level security cannot
 *   answer from one lab: a requester's own grants across labs
 *   (`emergency_grants_of`) and the number of active grants of the whole
 *   deployment (`emergency_grants_active`, the metric). `lab_has_data` tells
 *   whether LHCMS knows a lab at all (cases or settings), nothing more.
 * - Accesses under a grant are audit rows whose `query` carries
 *   `emergency_grant_id` (inside the hashed row, ADR 00xx): an expression
 *   index finds a grant's accesses.
 */
export class EmergencyAccess1765700000000 implements MigrationInterface {
  name = 'EmergencyAccess1765700000000';

  async up(q: QueryRunner): Promise<void> {
    const schema = (
      (await q.query(`SELECT quote_ident(current_schema()) AS s`)) as Array<{ s: string }>
    )[0].s;
    await q.query(`
      CREATE TABLE emergency_grants (
        id              uuid         NOT NULL DEFAULT gen_random_uuid(),
        lab_id          varchar(50)  NOT NULL,
        case_id         bigint,
        requester_id    varchar(100) NOT NULL,
        requester_name  varchar(200),
        reason          text         NOT NULL,
        access          varchar(5)   NOT NULL,
        duration_minutes integer     NOT NULL,
        status          varchar(10)  NOT NULL,
        created_at      timestamptz  NOT NULL,
        approved_at     timestamptz,
        approved_by     varchar(100),
        expires_at      timestamptz,
        revoked_at      timestamptz,
        revoked_by      varchar(100),
        CONSTRAINT pk_emergency_grants PRIMARY KEY (id),
        CONSTRAINT ck_emergency_grants_access CHECK (access IN ('read', 'write')),
        CONSTRAINT ck_emergency_grants_status CHECK (status IN ('pending', 'active', 'revoked')),
        CONSTRAINT ck_emergency_grants_duration CHECK (duration_minutes > 0),
        CONSTRAINT ck_emergency_grants_active CHECK (status = 'pending' OR expires_at IS NOT NULL),
        CONSTRAINT ck_emergency_grants_revoked CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
      )`);
    await q.query(
      `CREATE INDEX ix_emergency_grants_lab ON emergency_grants (lab_id, created_at DESC, id)`,
    );
    await q.query(
      `CREATE INDEX ix_emergency_grants_requester ON emergency_grants (requester_id, created_at DESC)`,
    );
    await enableTenantRls(q, 'emergency_grants');
    // No DELETE: a grant stays on the lab's record.
    await grantToApp(q, 'SELECT, INSERT, UPDATE', 'TABLE emergency_grants');

    await q.query(`
      CREATE FUNCTION emergency_grants_of(requester varchar)
      RETURNS SETOF emergency_grants
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT g.* FROM emergency_grants g WHERE g.requester_id = requester
        ORDER BY g.created_at DESC, g.id LIMIT 500
      $$`);
    await q.query(`
      CREATE FUNCTION emergency_grants_active() RETURNS integer
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT count(*)::int FROM emergency_grants
        WHERE status = 'active' AND expires_at > now()
      $$`);
    await q.query(`
      CREATE FUNCTION lab_has_data(lab varchar) RETURNS boolean
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT EXISTS (SELECT 1 FROM cases WHERE lab_id = lab)
            OR EXISTS (SELECT 1 FROM lab_settings WHERE lab_id = lab)
      $$`);
    for (const fn of [
      'emergency_grants_of(varchar)',
      'emergency_grants_active()',
      'lab_has_data(varchar)',
    ]) {
      await q.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
      await grantToApp(q, 'EXECUTE', `FUNCTION ${fn}`);
      if (!(await appRole(q))) await q.query(`GRANT EXECUTE ON FUNCTION ${fn} TO CURRENT_USER`);
    }

    await q.query(
      `CREATE INDEX ix_audit_events_emergency_grant ON audit_events ((query->>'emergency_grant_id'), occurred_at)
       WHERE query ? 'emergency_grant_id'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_audit_events_emergency_grant`);
    await q.query(`DROP FUNCTION lab_has_data(varchar)`);
    await q.query(`DROP FUNCTION emergency_grants_active()`);
    await q.query(`DROP FUNCTION emergency_grants_of(varchar)`);
    await q.query(`DROP TABLE emergency_grants`);
  }
}
