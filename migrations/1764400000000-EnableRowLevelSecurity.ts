import type { MigrationInterface, QueryRunner } from 'typeorm';
import { enableTenantRls, disableTenantRls } from '../libs/database/src/migration-helpers';

/**
 * Row-level security on `cases` (every tenant table gets the same, see
 * enableTenantRls): ENABLE + FORCE, the owner sees every row (cross-lab jobs:
 * migrations, retention), everybody else — the application role — only the
 * rows of the lab its transaction set with set_config('app.lab_id', …, true).
 * No lab set: no rows.
 */
export class EnableRowLevelSecurity1764400000000 implements MigrationInterface {
  name = 'EnableRowLevelSecurity1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await enableTenantRls(q, 'cases');
  }

  async down(q: QueryRunner): Promise<void> {
    await disableTenantRls(q, 'cases');
  }
}
