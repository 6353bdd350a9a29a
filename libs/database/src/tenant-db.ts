import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

export interface TenantTxOptions {
  /** Run on a read replica when one is configured (never for read-your-write paths). */
  replica?: boolean;
}

/**
 * Every lab-scoped unit of work runs here: one transaction with the lab set as
 * the transaction-local setting `app.lab_id` (set_config(..., true)), which the
 * row-level security policies read. Never a session-level SET: a pooled
 * connection would carry one lab's id into another request.
 */
@Injectable()
export class TenantDb {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  get dataSource(): DataSource {
    return this.ds;
  }

  async withLab<T>(
    labId: string,
    fn: (em: EntityManager) => Promise<T>,
    opts: TenantTxOptions = {},
  ): Promise<T> {
    const runner = this.ds.createQueryRunner(opts.replica ? 'slave' : 'master');
    await runner.connect();
    try {
      await runner.startTransaction();
      await runner.query(`SELECT set_config('app.lab_id', $1, true)`, [labId]);
      const result = await fn(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }
}
