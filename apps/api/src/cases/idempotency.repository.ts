import { Injectable } from '@nestjs/common';

import { type Db, rows } from '@lhcms/database';

/** Keys older than this no longer deduplicate (and may be purged). */
export const IDEMPOTENCY_WINDOW_HOURS = 24;

/**
 * `Idempotency-Key` of create: the key is recorded in the create's own
 * transaction, so a concurrent retry with the same key waits on the primary
 * key and then finds the first attempt's case.
 */
@Injectable()
export class IdempotencyRepository {
  async find(
    em: Db,
    labId: string,
    userId: string,
    key: string,
  ): Promise<{ request_hash: string; case_id: number } | undefined> {
    const found = await rows<{ request_hash: string; case_id: number }>(
      em,
      `SELECT request_hash, case_id FROM idempotency_keys
       WHERE lab_id = $1 AND user_id = $2 AND key = $3 AND created_at > now() - make_interval(hours => $4)`,
      [labId, userId, key, IDEMPOTENCY_WINDOW_HOURS],
    );
    return found[0];
  }

  /** False when the key exists already (a concurrent or earlier request holds it). */
  async claim(
    em: Db,
    labId: string,
    userId: string,
    key: string,
    hash: string,
    caseId: number,
  ): Promise<boolean> {
    const found = await rows<{ key: string }>(
      em,
      `INSERT INTO idempotency_keys (lab_id, user_id, key, request_hash, case_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (lab_id, user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, case_id = EXCLUDED.case_id,
         created_at = now() WHERE idempotency_keys.created_at <= now() - make_interval(hours => $6)
       RETURNING key`,
      [labId, userId, key, hash, caseId, IDEMPOTENCY_WINDOW_HOURS],
    );
    return found.length > 0;
  }
}
