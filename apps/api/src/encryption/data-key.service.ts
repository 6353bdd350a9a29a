import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
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
 *
 * Lookups run on a pooled connection of their own, and callers are often
 * inside a request's transaction, which holds another: a request that waited
 * for a lookup could wait for a connection that only the requests themselves
 * can free. Under load that is a pool deadlock until DB_POOL_TIMEOUT (every
 * in-flight write 503 at once, each time a lab's entry expires). So once a
 * lab's key is known, no caller waits for the database again: an expired
 * entry is served while one refresh (per lab and version) runs in the
 * background, and a failed refresh leaves the entry as it was for the next
 * call to retry. Only a lab's very first use waits, and concurrent first uses
 * share one lookup.
 */
@Injectable()
export class DataKeyService {
  private readonly log = new Logger('DataKeyService');
  private readonly keys = new Map<string, { dk: DataKey; until: number }>();
  private readonly current = new Map<string, { version: number; until: number }>();
  private readonly loading = new Map<string, Promise<DataKey>>();

  constructor(
    private readonly db: TenantDb,
    @Inject(KEK_PROVIDER) private readonly kek: KekProvider,
  ) {}

  /** The key new values of this lab are encrypted with. */
  async currentKey(labId: string): Promise<DataKey> {
    const c = this.current.get(labId);
    if (c) {
      if (c.until <= Date.now()) this.refresh(`current:${labId}`, () => this.loadCurrent(labId));
      return this.keyFor(labId, c.version);
    }
    return this.once(`current:${labId}`, () => this.loadCurrent(labId));
  }

  async keyFor(labId: string, version: number): Promise<DataKey> {
    const id = `${labId}:${version}`;
    const hit = this.keys.get(id);
    if (hit) {
      if (hit.until <= Date.now()) this.refresh(`key:${id}`, () => this.loadKey(labId, version));
      return hit.dk;
    }
    return this.once(`key:${id}`, () => this.loadKey(labId, version));
  }

  /** One load per key at a time: concurrent callers share it. */
  private once(key: string, load: () => Promise<DataKey>): Promise<DataKey> {
    const running = this.loading.get(key);
    if (running) return running;
    const p = load().finally(() => this.loading.delete(key));
    this.loading.set(key, p);
    return p;
  }

  /** A background reload of an expired entry; the entry stays usable meanwhile. */
  private refresh(key: string, load: () => Promise<DataKey>): void {
    this.once(key, load).catch((err: unknown) => {
      // No key material or lab data in the log: the error's class only.
      this.log.warn(`data key refresh failed (kept the cached key): ${(err as Error).name}`);
    });
  }

  private async loadCurrent(labId: string): Promise<DataKey> {
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
    const dk = await this.remember(labId, row);
    this.current.set(labId, { version: row.key_version, until: Date.now() + CURRENT_TTL_MS });
    return dk;
  }

  private async loadKey(labId: string, version: number): Promise<DataKey> {
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

  /** Unwraps a stored key and caches it (a cached, unexpired unwrap is reused: no KMS call). */
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
