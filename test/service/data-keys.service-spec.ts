import { randomInt, randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { Client } from 'pg';
import { DatabaseConnector, rows, TenantDb } from '@lhcms/database';
import { testDatabaseUrls, testEnv } from '@lhcms/testing';
import { AppModule } from '../../apps/api/src/app.module';
import { DataKeyService, PhiCipher } from '../../apps/api/src/encryption';
import { KEK_PROVIDER } from '../../apps/api/src/encryption/kek-provider.factory';
import { dataKeyContext } from '../../apps/api/src/encryption/data-key.service';
import type { KekProvider } from '@lhcms/crypto';

/**
 * The data key cache never makes a request wait for a second pooled
 * connection once a lab's key is known: a write encrypts inside its
 * transaction, which holds a connection, and a lookup that needed another
 * would deadlock a saturated pool (every in-flight write 503 at once, each
 * time a lab's cache entry expired). Here the pool has ONE connection, held
 * by the transaction: an expired entry must still be served, and refreshed
 * once the connection is free.
 */
describe('data keys: expired entries are served while one refresh runs in the background', () => {
  let mod: TestingModule;
  let owner: Client;
  const labId = `dk${randomInt(1e9)}`;
  const realNow = Date.now.bind(Date);

  beforeAll(async () => {
    mod = await Test.createTestingModule({
      imports: [
        AppModule.forRoot(
          testEnv({ DB_POOL_SIZE: '1', DB_MAX_OVERFLOW: '0', DB_POOL_TIMEOUT: '2' }),
        ),
      ],
    }).compile();
    await mod.init();
    await mod.get(DatabaseConnector).connected;
    owner = new Client({ connectionString: testDatabaseUrls().ownerUrl });
    await owner.connect();
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await owner?.end();
    await mod?.close();
  });

  it('inside a transaction holding the only connection, an expired key is served (no second connection), then refreshed to a newer version', async () => {
    const keys = mod.get(DataKeyService);
    const phi = mod.get(PhiCipher);
    const db = mod.get(TenantDb);
    const first = await keys.currentKey(labId); // the lab's first use: waits, creates version 1
    expect(first.version).toBe(1);

    // A rotation elsewhere adds version 2 (as `lhcms keys rotate --new-data-keys` would).
    const kek = mod.get<KekProvider>(KEK_PROVIDER);
    const w = await kek.wrap(randomBytes(32), dataKeyContext(labId));
    await owner.query(
      `INSERT INTO lab_data_keys (lab_id, key_version, wrapped_key, kek_provider, kek_id) VALUES ($1, 2, $2, $3, $4)`,
      [labId, w.wrapped, kek.name, w.kekId],
    );

    // Every cache entry has expired (11 minutes later).
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 11 * 60_000);
    const started = realNow();
    const inside = await db.withLab(labId, async (em) => {
      await rows(em, 'SELECT 1');
      // The old code looked the key up here on another connection: with the pool's only
      // connection held by this transaction, it waited DB_POOL_TIMEOUT (2 s) and failed.
      const text = await phi.encryptText(labId, 'test.column', 'hello');
      return { text, key: await keys.currentKey(labId) };
    });
    expect(realNow() - started).toBeLessThan(1500);
    expect(inside.key.version).toBe(1); // the cached (expired) entry, served at once
    expect(await phi.decryptText(labId, 'test.column', inside.text)).toBe('hello');

    // The refresh ran once the connection was free: the new version is current.
    const until = realNow() + 5000;
    let now = await keys.currentKey(labId);
    while (now.version !== 2 && realNow() < until) {
      await new Promise((r) => setTimeout(r, 50));
      now = await keys.currentKey(labId);
    }
    expect(now.version).toBe(2);
  });

  it('decrypted JSON is parsed once, frozen and shared; a cached ciphertext is still refused under another column or lab', async () => {
    const phi = mod.get(PhiCipher);
    const lab = `dk${randomInt(1e9)}`;
    const stored = await phi.encrypt(lab, {
      id: 1,
      patient_info: { name: 'Ann', teeth: [11, 12] },
      description: 'upper left',
      case_name: null,
    });
    expect(typeof stored.patient_info).toBe('string');

    const [x, y] = await phi.decryptAll(lab, [stored, stored]);
    expect(x).toEqual({
      id: 1,
      patient_info: { name: 'Ann', teeth: [11, 12] },
      description: 'upper left',
      case_name: null,
    });
    // One parse for both rows (and for every later read): the same frozen object.
    expect(y.patient_info).toBe(x.patient_info);
    expect((await phi.decrypt(lab, stored)).patient_info).toBe(x.patient_info);
    expect(Object.isFrozen(x.patient_info)).toBe(true);
    expect(Object.isFrozen((x.patient_info as { teeth: number[] }).teeth)).toBe(true);
    expect(() => {
      (x.patient_info as { name: string }).name = 'Bea';
    }).toThrow(TypeError);
    // The stored row is not touched; each row answered is its own copy.
    expect(typeof stored.patient_info).toBe('string');
    expect(x).not.toBe(y);

    // The cached ciphertext copied into another column, or into another lab's row: refused.
    await expect(
      phi.decryptAll(lab, [{ ...stored, description: stored.patient_info }]),
    ).rejects.toThrow();
    await expect(phi.decrypt(`dk${randomInt(1e9)}`, stored)).rejects.toThrow();
    // The original still answers from the cache.
    expect((await phi.decrypt(lab, stored)).patient_info).toBe(x.patient_info);

    // Values written before encryption existed read as stored (JSON parsed).
    expect(
      await phi.decrypt(lab, { patient_info: '{"name":"Old"}', description: 'plain' }),
    ).toEqual({ patient_info: { name: 'Old' }, description: 'plain' });
  });
});
