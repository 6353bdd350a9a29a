import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type DataKey, type KekProvider } from '@lhcms/crypto';
import { rows, TenantDb } from '@lhcms/database';
import { KEK_PROVIDER } from './kek-provider.factory';

interface KeyRow {
  key_version: number;
  wrapped_key: Buffer;
  kek_id: string;
}

const CURRENT_TTL_MS = 60_000;

/** Bound to every wrap/unwrap (AES-GCM AAD locally, the KMS encryption context). */
export function dataKeyContext(labId: string): Record<string, string> {
  return { lab_id: labId, purpose: 'lhcms-phi' };
}
const KEY_TTL_MS = 10 * 60_000;

/**
 * Per-lab data keys: created on a lab's first write (in their own committed
 * transaction, so a rolled-back request never leaves a key only in memory),
 * stored wrapped by the KEK, unwrapped on demand and cached in this process
 * only (never in Redis). The newest version encrypts; every version decrypts.
 */
@Injectable()
export class DataKeyService {
  private readonly keys = new Map<string, { dk: DataKey; until: number }>();
  private readonly current = new Map<string, { version: number; until: number }>();

  constructor(
    private readonly db: TenantDb,
    @Inject(KEK_PROVIDER) private readonly kek: KekProvider,
  ) {}

  /** The key new values of this lab are encrypted with. */
  async currentKey(labId: string): Promise<DataKey> {
    const c = this.current.get(labId);
    if (c && c.until > Date.now()) return this.keyFor(labId, c.version);
    let row = await this.latest(labId);
    if (!row) {
      const dataKey = randomBytes(32);
      const w = await this.kek.wrap(dataKey, dataKeyContext(labId));
      await this.db.withLab(labId, (em) =>
        rows(
          em,
          `INSERT INTO lab_data_keys (lab_id, key_version, wrapped_key, kek_provider, kek_id)
           VALUES ($1, 1, $2, $3, $4) ON CONFLICT (lab_id, key_version) DO NOTHING`,
          [labId, w.wrapped, this.kek.name, w.kekId],
        ),
      );
      row = await this.latest(labId); // a concurrent first write may have won: use what is stored
    }
    if (!row) throw new Error('data key missing after creation');
    this.current.set(labId, { version: row.key_version, until: Date.now() + CURRENT_TTL_MS });
    return this.remember(labId, row);
  }

  async keyFor(labId: string, version: number): Promise<DataKey> {
    const hit = this.keys.get(`${labId}:${version}`);
    if (hit && hit.until > Date.now()) return hit.dk;
    const found = await this.db.read(labId, (em) =>
      rows<KeyRow>(
        em,
        `SELECT key_version, wrapped_key, kek_id FROM lab_data_keys WHERE lab_id = $1 AND key_version = $2`,
        [labId, version],
      ),
    );
    if (!found[0]) throw new Error(`data key ${version} of lab is missing`);
    return this.remember(labId, found[0]);
  }

  private async latest(labId: string): Promise<KeyRow | undefined> {
    const found = await this.db.read(labId, (em) =>
      rows<KeyRow>(
        em,
        `SELECT key_version, wrapped_key, kek_id FROM lab_data_keys WHERE lab_id = $1 ORDER BY key_version DESC LIMIT 1`,
        [labId],
      ),
    );
    return found[0];
  }

  private async remember(labId: string, row: KeyRow): Promise<DataKey> {
    const hit = this.keys.get(`${labId}:${row.key_version}`);
    if (hit && hit.until > Date.now()) return hit.dk;
    const key = await this.kek.unwrap(
      { wrapped: row.wrapped_key, kekId: row.kek_id },
      dataKeyContext(labId),
    );
    const dk = { version: row.key_version, key };
    this.keys.set(`${labId}:${row.key_version}`, { dk, until: Date.now() + KEY_TTL_MS });
    return dk;
  }

  /** Forget cached keys (after a rotation in this process). */
  clear(): void {
    this.keys.clear();
    this.current.clear();
  }
}
