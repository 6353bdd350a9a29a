import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Env } from '@lhcms/config';
import { auditKeys } from './audit-keys';
import { chainId } from './chain-sealer';
import { databaseDigestPages, strayEvents } from './chain-sources';
import { type VerifyReport, verifyChain } from './chain-verifier';
import { CheckpointStore } from './checkpoints';
import { typeormSql } from './sql';

/**
 * The verify endpoint's verifier: the whole chain and the checkpoints, as the
 * application role, with event digests from the database. One run at a time
 * (concurrent callers share it). The authoritative check is `lhcms audit
 * verify`, which rebuilds every digest outside the database.
 */
@Injectable()
export class AuditVerifier {
  private inflight: Promise<VerifyReport> | undefined;

  constructor(
    @Inject(Env) private readonly env: Env,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  verify(): Promise<VerifyReport> {
    this.inflight ??= this.run().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async run(): Promise<VerifyReport> {
    const sql = typeormSql(this.ds);
    const key = auditKeys(this.env).chain;
    const id = await chainId(sql);
    const store = new CheckpointStore(this.env.auditCheckpointDir, id, key);
    return verifyChain(key, id, databaseDigestPages(sql), store.list(), strayEvents(sql));
  }
}
