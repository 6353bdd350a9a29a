import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appRole, grantToApp } from '../libs/database/src/migration-helpers';

/**
 * Cross-lab attempts reach the owning lab's audit trail (issue 15): a request
 * for a case id of another lab is answered 404, and the owning lab's admins
 * get a security event. Row-level security hides the foreign case from the
 * application role, so one narrow SECURITY DEFINER function answers the only
 * question the audit trail needs: which lab owns this case id (soft-deleted
 * cases too; NULL when there is no such case). Nothing else of the case.
 * The API calls it only when it is about to answer "case not found".
 */
export class CaseOwnerLookup1765000000000 implements MigrationInterface {
  name = 'CaseOwnerLookup1765000000000';

  async up(q: QueryRunner): Promise<void> {
    const schema = (
      (await q.query(`SELECT quote_ident(current_schema()) AS s`)) as Array<{ s: string }>
    )[0].s;
    await q.query(`
      CREATE FUNCTION case_owner_lab(case_id bigint) RETURNS varchar
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ${schema}, pg_temp AS $$
        SELECT c.lab_id FROM cases c WHERE c.id = case_id
      $$`);
    await q.query(`REVOKE ALL ON FUNCTION case_owner_lab(bigint) FROM PUBLIC`);
    await grantToApp(q, 'EXECUTE', 'FUNCTION case_owner_lab(bigint)');
    // One role for everything (no separate app role): it still needs the function.
    if (!(await appRole(q))) {
      await q.query(`GRANT EXECUTE ON FUNCTION case_owner_lab(bigint) TO CURRENT_USER`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION case_owner_lab(bigint)`);
  }
}
