import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Env, RawEnv } from '@lhcms/config';
import { EmbeddedPostgres, provisionDatabase, resolveEmbeddedDataRoot } from '@lhcms/database';
import {
  DEFAULT_SEED_FILE,
  DEFAULT_SEED_LOGINS,
  loadSeed,
  startUmsDev,
  type UmsDevServer,
} from '@lhcms/ums-dev';

interface DevSecrets {
  secretKey: string;
  jwtSecret: string;
  ownerPassword: string;
  appPassword: string;
  /** The local key-encryption key of PHI field encryption (base64, 32 bytes). */
  localKek: string;
}

export interface DevRuntime {
  /** Variables to lay over the environment (DATABASE_URL, UMS_BASE_URL, secrets). */
  overrides: RawEnv;
  /** What was embedded and how to log in, for the startup banner. */
  banner: string[];
  stop(): Promise<void>;
}

function devSecrets(root: string): DevSecrets {
  const file = path.join(root, 'dev-secrets.json');
  const gen = (): string => randomBytes(32).toString('base64url');
  const fresh: DevSecrets = {
    secretKey: gen(),
    jwtSecret: gen(),
    ownerPassword: gen(),
    appPassword: gen(),
    localKek: randomBytes(32).toString('base64'),
  };
  const existing = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevSecrets>)
    : {};
  // Keep what exists (data was encrypted and roles created with it); add what is new.
  const s: DevSecrets = { ...fresh, ...existing };
  if (Object.keys(existing).length !== Object.keys(s).length) {
    fs.writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  }
  return s;
}

/**
 * The embedded default (never in production): an embedded PostgreSQL 17 when
 * DATABASE_URL is unset, the bundled ums-dev when UMS_BASE_URL is unset, and
 * generated development secrets kept under LHCMS_DATA_DIR.
 */
export async function startDevRuntime(env: Env, log: (m: string) => void): Promise<DevRuntime> {
  if (env.isProduction) throw new Error('the embedded default is never used in production');
  const root = resolveEmbeddedDataRoot(env.LHCMS_DATA_DIR);
  fs.mkdirSync(root, { recursive: true, mode: 0o711 });
  fs.chmodSync(root, 0o711); // the `postgres` user must traverse it when we run as root
  const secrets = devSecrets(root);
  const overrides: RawEnv = {};
  const banner: string[] = [];
  let pg: EmbeddedPostgres | undefined;
  let ums: UmsDevServer | undefined;

  if (!env.SECRET_KEY) overrides.SECRET_KEY = secrets.secretKey;
  if (env.ENCRYPTION_PROVIDER === 'local' && !env.ENCRYPTION_LOCAL_KEK) {
    overrides.ENCRYPTION_LOCAL_KEK = secrets.localKek;
    banner.push(
      `PHI encryption: local key-encryption key kept in ${path.join(root, 'dev-secrets.json')}`,
    );
  }

  try {
    if (!env.DATABASE_URL) {
      pg = await EmbeddedPostgres.start({
        dataDir: path.join(root, 'postgres'),
        port: env.EMBEDDED_PG_PORT,
        logFile: path.join(root, 'postgres.log'),
        log,
      });
      const db = await provisionDatabase({
        adminUrl: pg.url('postgres'),
        database: 'lhcms',
        ownerRole: 'lhcms_owner',
        ownerPassword: secrets.ownerPassword,
        appRole: 'lhcms_app',
        appPassword: secrets.appPassword,
      });
      overrides.DATABASE_URL = db.appUrl;
      overrides.DATABASE_OWNER_URL = db.ownerUrl;
      banner.push(
        `embedded PostgreSQL 17 on 127.0.0.1:${pg.port}, database "lhcms" (roles lhcms_owner / lhcms_app), data in ${path.join(root, 'postgres')}`,
      );
    }
    if (!env.UMS_BASE_URL) {
      const secret = env.JWT_SECRET_KEY ?? secrets.jwtSecret;
      ums = await startUmsDev(
        {
          seed: loadSeed(env.UMS_DEV_SEED_FILE ?? DEFAULT_SEED_FILE),
          secret,
          accessTtlSeconds: env.JWT_ACCESS_TOKEN_EXPIRES,
          refreshTtlSeconds: env.JWT_REFRESH_TOKEN_EXPIRES,
          shape: 'A+B',
          apiKey: env.UMS_API_KEY,
        },
        { port: env.UMS_DEV_PORT, host: '127.0.0.1' },
      ).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EADDRINUSE') throw err;
        throw new Error(
          `port ${env.UMS_DEV_PORT} (ums-dev) is in use; stop what runs there, or set UMS_DEV_PORT or UMS_BASE_URL`,
        );
      });
      overrides.UMS_BASE_URL = ums.url;
      overrides.JWT_SECRET_KEY = secret;
      banner.push(
        `ums-dev (development UMS) on ${ums.url}; log in with POST ${ums.url}/api/auth/login`,
      );
      if (!env.UMS_DEV_SEED_FILE) {
        for (const l of DEFAULT_SEED_LOGINS)
          banner.push(`  ${l.username} / ${l.password}  (${l.what})`);
      }
    }
    if (!env.REDIS_URL) banner.push('cache: in-process memory (set REDIS_URL for Redis)');
  } catch (err) {
    await ums?.close().catch(() => undefined);
    await pg?.stop().catch(() => undefined);
    throw err;
  }

  return {
    overrides,
    banner,
    async stop() {
      await ums?.close().catch(() => undefined);
      await pg?.stop();
    },
  };
}
