import 'reflect-metadata';
import * as path from 'node:path';
import { loadEnv } from '@lhcms/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * The DataSource of the TypeORM CLI (`npm run migration:*`, which run it on
 * the compiled output through scripts/typeorm.mjs). Same configuration as the
 * app, connected as the owner role, with the compiled entities so that
 * `migration:generate` can diff them against the schema.
 */
export default new DataSource(
  dataSourceOptions(loadEnv(), 'owner', {
    entities: [path.join(__dirname, '../../../apps/**/*.entity.js')],
    poolMax: 2,
  }),
);
