import 'reflect-metadata';
import { isIP } from 'node:net';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { Env } from './env';
import { envValueText } from './env-docs';
import { envDeclarations } from './env.decorators';

export type RawEnv = Record<string, string | undefined>;

/** Thrown when the environment is invalid; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function declaredNames(): Set<string> {
  return new Set(envDeclarations().map((d) => d.name));
}

/** Keeps declared variables only, drops empty values (`VAR=` means unset) and applies the original's aliases. */
function normalise(raw: RawEnv): RawEnv {
  const names = declaredNames();
  const out: RawEnv = {};
  for (const [k, v] of Object.entries(raw)) {
    if (names.has(k) && v !== undefined && v.trim() !== '') out[k] = v;
  }
  if (!out.NODE_ENV && out.FLASK_ENV) {
    const f = out.FLASK_ENV.trim().toLowerCase();
    out.NODE_ENV = f === 'production' ? 'production' : f === 'qa' ? 'test' : 'development';
  }
  if (!out.UMS_BASE_URL && out.UMS_URL) out.UMS_BASE_URL = out.UMS_URL;
  return out;
}

function flatten(errors: ValidationError[], secretNames: Set<string>): string[] {
  return errors.flatMap((e) => {
    const shown = secretNames.has(e.property) ? '<secret>' : JSON.stringify(e.value);
    const msgs = Object.values(e.constraints ?? {});
    return msgs.map((m) =>
      m.startsWith(e.property) ? `${m} (got ${shown})` : `${e.property}: ${m} (got ${shown})`,
    );
  });
}

function productionProblems(env: Env): string[] {
  if (!env.isProduction) return [];
  const p: string[] = [];
  if (!env.DATABASE_URL) p.push('DATABASE_URL: required in production (no embedded database)');
  if (!env.UMS_BASE_URL) p.push('UMS_BASE_URL: required in production (no bundled ums-dev)');
  if (!env.SECRET_KEY) p.push('SECRET_KEY: required in production');
  if (!env.JWT_SECRET_KEY && !env.UMS_JWKS_URL)
    p.push(
      'JWT_SECRET_KEY: required in production unless UMS_JWKS_URL is set (tokens are verified locally)',
    );
  if (!env.HIPAA_AUDIT_ENABLED) p.push('HIPAA_AUDIT_ENABLED: cannot be false in production');
  if (env.ENCRYPTION_PROVIDER === 'local' && !env.ENCRYPTION_LOCAL_KEK)
    p.push('ENCRYPTION_LOCAL_KEK: required in production with ENCRYPTION_PROVIDER=local');

  if (env.CORS_ORIGINS.includes('*')) p.push('CORS_ORIGINS: `*` is not allowed in production');
  return p;
}

/** A WEBHOOK_ALLOWED_HOSTS entry: an IP address, a CIDR or a host name. */
export function isWebhookAllowlistEntry(entry: string): boolean {
  const [net, bits, extra] = entry.split('/');
  if (extra !== undefined) return false;
  const family = isIP(net);
  if (family !== 0) {
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  }
  return (
    bits === undefined &&
    entry.length <= 253 &&
    /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$/i.test(entry)
  );
}

function consistencyProblems(env: Env): string[] {
  const p: string[] = [];
  if (!env.WEBHOOK_ALLOWED_HOSTS.every(isWebhookAllowlistEntry))
    p.push('WEBHOOK_ALLOWED_HOSTS: every entry must be a host name, an IP address or a CIDR');
  if (env.HEADERS_TIMEOUT_MS <= env.KEEP_ALIVE_TIMEOUT_MS)
    p.push('HEADERS_TIMEOUT_MS: must be greater than KEEP_ALIVE_TIMEOUT_MS');
  const hs = env.JWT_ALGORITHM.some((a) => a.startsWith('HS'));
  const asym = env.JWT_ALGORITHM.some((a) => !a.startsWith('HS'));
  if (hs && asym) p.push('JWT_ALGORITHM: HS* and RS*/ES*/PS* algorithms cannot be mixed');
  if (env.JWT_ALGORITHM.length === 0) p.push('JWT_ALGORITHM: at least one algorithm is required');
  if (env.ENCRYPTION_PROVIDER === 'aws-kms' && !env.ENCRYPTION_KEY_ID)
    p.push('ENCRYPTION_KEY_ID: required with ENCRYPTION_PROVIDER=aws-kms');
  if (env.ATTACHMENT_STORE === 's3' && !env.S3_BUCKET)
    p.push('S3_BUCKET: required with ATTACHMENT_STORE=s3');
  if (!!env.S3_ACCESS_KEY_ID !== !!env.S3_SECRET_ACCESS_KEY)
    p.push('S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither');
  p.push(...redisProblems(env));
  return p;
}

/** REDIS_MODE against REDIS_URL and REDIS_CLUSTER_NODES; never echoes the URL (it holds the password). */
function redisProblems(env: Env): string[] {
  const p: string[] = [];
  if (env.REDIS_MODE !== 'cluster') {
    if (env.REDIS_CLUSTER_NODES.length > 0)
      p.push('REDIS_CLUSTER_NODES: only used with REDIS_MODE=cluster');
    return p;
  }
  if (!env.REDIS_URL) {
    p.push('REDIS_MODE: cluster needs REDIS_URL (one node of the cluster)');
    return p;
  }
  let database: string | undefined;
  try {
    database = new URL(env.REDIS_URL).pathname.replace(/^\//, '');
  } catch {
    p.push('REDIS_URL: not a valid URL');
    return p;
  }
  if (database !== '' && database !== '0')
    p.push(
      'REDIS_URL: a Redis Cluster has database 0 only; drop the /<db> path with REDIS_MODE=cluster',
    );
  return p;
}

/**
 * Reads and validates the configuration. Throws ConfigError naming every
 * invalid variable; secrets are never echoed.
 */
export function loadEnv(raw: RawEnv = process.env): Env {
  const input = normalise(raw);
  const env = plainToInstance(Env, input, {
    excludeExtraneousValues: true,
    exposeDefaultValues: true,
  });
  const secrets = new Set(
    envDeclarations()
      .filter((d) => d.secret)
      .map((d) => d.name),
  );
  const problems = flatten(validateSync(env, { forbidUnknownValues: false }), secrets);
  if (problems.length === 0) problems.push(...consistencyProblems(env), ...productionProblems(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(env);
}

/** Lines "NAME=value" for a startup banner, secrets masked. */
export function describeEnv(env: Env): string[] {
  return envDeclarations().map((d) => {
    const v = (env as unknown as Record<string, unknown>)[d.name];
    const shown = v === undefined ? '(unset)' : d.secret ? '****' : envValueText(v);
    return `${d.name}=${shown}`;
  });
}
