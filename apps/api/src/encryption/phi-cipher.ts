import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@lhcms/config';
import {
  type DataKey,
  decryptField,
  deriveKey,
  encryptField,
  keyVersionOf,
  patientRef,
} from '@lhcms/crypto';
import { ENCRYPTED_COLUMNS } from '../case-model';
import { DataKeyService } from './data-key.service';
import { PlaintextCache } from './plaintext-cache';

/**
 * The columns that can carry PHI — the patient object, the free-text fields
 * and the prescription objects — and whether each holds JSON: the
 * catalogue's encrypted columns (case-model/case.columns.ts, where the
 * classification is decided). They are stored encrypted; nothing else is.
 */
export const PHI_COLUMNS = ENCRYPTED_COLUMNS;

type Values = Record<string, unknown>;

/**
 * Encrypts PHI values before they reach the database and decrypts them after,
 * with the lab's data key (AES-256-GCM, AAD = lab + column). Also computes the
 * keyed blind index of `patient_info.patient_id` for exact-match search.
 * Values written before encryption existed (no `enc:` prefix) still read.
 */
@Injectable()
export class PhiCipher {
  private readonly blindKey: Buffer;
  /** Decrypted values already seen (PHI_PLAINTEXT_CACHE_ENTRIES): a re-read case costs no AES. */
  private readonly plain: PlaintextCache;

  constructor(
    @Inject(Env) env: Env,
    private readonly keys: DataKeyService,
  ) {
    this.blindKey = deriveKey(env.SECRET_KEY ?? '', 'blind-index');
    this.plain = new PlaintextCache(
      env.PHI_PLAINTEXT_CACHE_ENTRIES,
      env.PHI_PLAINTEXT_CACHE_SECONDS * 1000,
    );
  }

  blindIndex(labId: string, patientId: string): string {
    return patientRef(this.blindKey, labId, patientId);
  }

  /** The blind index of a patient object, or null when it has no patient_id. */
  patientIndex(labId: string, patientInfo: unknown): string | null {
    const id = (patientInfo as { patient_id?: unknown } | null)?.patient_id;
    return typeof id === 'string' && id.trim() !== '' ? this.blindIndex(labId, id) : null;
  }

  /** A copy of `values` with every present, non-null PHI column encrypted. */
  async encrypt<T extends object>(labId: string, values: T): Promise<T> {
    const v = values as Values;
    const present = PHI_COLUMNS.filter((c) => v[c.column] !== undefined && v[c.column] !== null);
    if (present.length === 0) return values;
    const dk = await this.keys.currentKey(labId);
    const out: Values = { ...v };
    for (const c of present) {
      const value = v[c.column];
      const plain = c.json || typeof value !== 'string' ? JSON.stringify(value) : value;
      out[c.column] = encryptField(dk, `${labId}|${c.column}`, plain);
    }
    return out as T;
  }

  /**
   * A copy of a stored row with its PHI columns decrypted (JSON columns
   * parsed). A decrypted JSON value is frozen (deeply): the same object is
   * handed to every later read of that ciphertext, so nobody may change it.
   */
  async decrypt<T extends object>(labId: string, row: T): Promise<T> {
    return (await this.decryptAll(labId, [row]))[0];
  }

  /** decrypt() of each row, the lab's data keys looked up once for all of them. */
  async decryptAll<T extends object>(labId: string, rows: T[]): Promise<T[]> {
    const n = PHI_COLUMNS.length;
    // The key version of each encrypted value (-1: plaintext, or no value), read once.
    const versions = new Array<number>(rows.length * n);
    const keys = new Map<number, DataKey>();
    for (let r = 0; r < rows.length; r++) {
      for (let i = 0; i < n; i++) {
        const stored = (rows[r] as Values)[PHI_COLUMNS[i].column];
        const version = typeof stored === 'string' ? keyVersionOf(stored) : undefined;
        versions[r * n + i] = version ?? -1;
        if (version !== undefined && !keys.has(version)) {
          keys.set(version, await this.keys.keyFor(labId, version));
        }
      }
    }
    const bindings = PHI_COLUMNS.map((c) => `${labId}|${c.column}`);
    const now = Date.now();
    return rows.map((row, r) => {
      const out: Values = { ...(row as Values) };
      for (let i = 0; i < n; i++) {
        const { column, json } = PHI_COLUMNS[i];
        const stored = out[column];
        if (typeof stored !== 'string') continue;
        const key = keys.get(versions[r * n + i]);
        if (key === undefined) {
          // Written before encryption existed: plaintext as stored.
          out[column] = json ? (JSON.parse(stored) as unknown) : stored;
          continue;
        }
        const binding = bindings[i];
        const open = () => {
          const plain = decryptField(key, binding, stored);
          return json ? deepFreeze(JSON.parse(plain) as unknown) : plain;
        };
        out[column] = this.plain.through(binding, stored, open, now);
      }
      return out as T;
    });
  }

  /** One free-text value of another table (e.g. an event reason), bound to `table.column`. */
  async encryptText(labId: string, column: string, text: string): Promise<string> {
    return encryptField(await this.keys.currentKey(labId), `${labId}|${column}`, text);
  }

  async decryptText(labId: string, column: string, stored: string): Promise<string> {
    const version = keyVersionOf(stored);
    if (version === undefined) return stored;
    return decryptField(await this.keys.keyFor(labId, version), `${labId}|${column}`, stored);
  }
}

/** `value` and everything in it, frozen. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
