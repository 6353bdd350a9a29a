import 'reflect-metadata';
import { loadEnv } from '@lhcms/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:*`, which run it on
 * the compiled output through scripts/typeorm.mjs). Same configuration as the
 * app, connected as the owner role. It loads no entities: LHCMS has no entity
 * model (the repositories write SQL; a case's columns are declared once, in
 * apps/api/src/case-model/case.columns.ts), so migrations are written by hand
 * (`npm run migration:create`) and `migration:generate` is refused — there is
 * no model to diff the schema against (docs/case-columns.md).
 */
export default new DataSource(dataSourceOptions(loadEnv(), 'owner', { poolMax: 2 }));
