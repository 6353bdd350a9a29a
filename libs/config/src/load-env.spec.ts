import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, describeEnv, loadEnv } from './load-env';
import {
  ENV_TABLE_BEGIN,
  ENV_TABLE_END,
  GENERATED_TABLES_DOC,
  renderEnvExample,
  renderEnvTable,
} from './env-docs';
import { envDeclarations } from './env.decorators';

const ROOT = path.resolve(__dirname, '../../..');

function problemsOf(raw: Record<string, string>): string[] {
  try {
    loadEnv(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv({});
    expect(env.PORT).toBe(5001);
    expect(env.NODE_ENV).toBe('development');
    expect(env.DB_POOL_SIZE).toBe(20);
    expect(env.DB_MAX_OVERFLOW).toBe(30);
    expect(env.DB_POOL_RECYCLE).toBe(3600);
    expect(env.DB_POOL_PRE_PING).toBe(true);
    expect(env.DATA_RETENTION_DAYS).toBe(2555);
    expect(env.HIPAA_AUDIT_ENABLED).toBe(true);
    expect(env.JWT_ALGORITHM).toEqual(['HS256']);
    expect(env.migrateOnStart).toBe(true);
  });

  it('types values: integers, booleans, lists', () => {
    const env = loadEnv({
      PORT: '8080',
      HIPAA_AUDIT_ENABLED: 'false',
      CORS_ORIGINS: 'http://a, http://b,',
    });
    expect(env.PORT).toBe(8080);
    expect(env.HIPAA_AUDIT_ENABLED).toBe(false);
    expect(env.CORS_ORIGINS).toEqual(['http://a', 'http://b']);
  });

  it('names every invalid variable in one error', () => {
    const problems = problemsOf({
      PORT: 'abc',
      DB_POOL_SIZE: '0',
      HIPAA_AUDIT_ENABLED: 'maybe',
      LOG_LEVEL: 'loud',
    });
    const text = problems.join('\n');
    expect(text).toMatch(/PORT/);
    expect(text).toMatch(/DB_POOL_SIZE/);
    expect(text).toMatch(/HIPAA_AUDIT_ENABLED/);
    expect(text).toMatch(/LOG_LEVEL/);
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });

  it('events: the NATS sink is off by default; its URL must be nats:// or tls://, its names subject-safe', () => {
    const env = loadEnv({});
    expect(env.EVENTS_NATS_URL).toBeUndefined();
    expect(env.EVENTS_DISPATCHER).toBe('on');
    expect(env.EVENTS_DISPATCH_INTERVAL_MS).toBe(200);
    expect(env.EVENTS_NATS_STREAM).toBe('LHCMS_EVENTS');
    expect(env.EVENTS_NATS_SUBJECT_PREFIX).toBe('lhcms');
    expect(env.EVENTS_STREAM_HEARTBEAT_SECONDS).toBe(15);
    expect(env.EVENTS_STREAM_POLL_MS).toBe(250);
    expect(env.EVENTS_STREAM_MAX_PER_USER).toBe(5);
    expect(env.EVENTS_STREAM_MAX_PER_REPLICA).toBe(1000);
    expect(loadEnv({ EVENTS_NATS_URL: 'nats://a:4222,tls://b:4222' }).EVENTS_NATS_URL).toBe(
      'nats://a:4222,tls://b:4222',
    );
    const text = problemsOf({
      EVENTS_NATS_URL: 'http://a:4222',
      EVENTS_NATS_STREAM: 'a.b',
      EVENTS_NATS_SUBJECT_PREFIX: 'x>',
      EVENTS_DISPATCH_INTERVAL_MS: '0',
      EVENTS_DISPATCHER: 'maybe',
      EVENTS_STREAM_HEARTBEAT_SECONDS: '0',
      EVENTS_STREAM_POLL_MS: '5',
      EVENTS_STREAM_MAX_PER_USER: '0',
      EVENTS_STREAM_MAX_PER_REPLICA: 'lots',
    }).join('\n');
    for (const v of [
      'EVENTS_NATS_URL',
      'EVENTS_NATS_STREAM',
      'EVENTS_NATS_SUBJECT_PREFIX',
      'EVENTS_DISPATCH_INTERVAL_MS',
      'EVENTS_DISPATCHER',
      'EVENTS_STREAM_HEARTBEAT_SECONDS',
      'EVENTS_STREAM_POLL_MS',
      'EVENTS_STREAM_MAX_PER_USER',
      'EVENTS_STREAM_MAX_PER_REPLICA',
    ]) {
      expect(text).toContain(v);
    }
  });

  it('never echoes a secret value in an error', () => {
    const problems = problemsOf({
      JWT_SECRET_KEY: 'short',
      DATABASE_URL: 'mysql://u:hunter2@h/db',
    });
    const text = problems.join('\n');
    expect(text).toMatch(/JWT_SECRET_KEY/);
    expect(text).toMatch(/DATABASE_URL/);
    expect(text).not.toMatch(/short|hunter2/);
  });

  it('treats an empty value as unset', () => {
    expect(loadEnv({ PORT: '', REDIS_URL: '' }).PORT).toBe(5001);
  });

  it("reads the original's FLASK_ENV and UMS_URL when the new names are unset", () => {
    const env = loadEnv({ FLASK_ENV: 'qa', UMS_URL: 'http://ums.internal:5000' });
    expect(env.NODE_ENV).toBe('test');
    expect(env.UMS_BASE_URL).toBe('http://ums.internal:5000');
    expect(loadEnv({ NODE_ENV: 'development', FLASK_ENV: 'production' }).NODE_ENV).toBe(
      'development',
    );
  });

  it('refuses production without database, UMS and secrets', () => {
    const text = problemsOf({ NODE_ENV: 'production' }).join('\n');
    for (const name of [
      'DATABASE_URL',
      'UMS_BASE_URL',
      'SECRET_KEY',
      'JWT_SECRET_KEY',
      'ENCRYPTION_LOCAL_KEK',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('refuses HIPAA_AUDIT_ENABLED=false and CORS * in production', () => {
    const base = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://app@db/lhcms',
      UMS_BASE_URL: 'http://ums:5000',
      SECRET_KEY: 'x'.repeat(40),
      JWT_SECRET_KEY: 'y'.repeat(32),
      ENCRYPTION_LOCAL_KEK: Buffer.alloc(32, 7).toString('base64'),
    };
    expect(loadEnv(base).isProduction).toBe(true);
    expect(loadEnv(base).migrateOnStart).toBe(false);
    expect(problemsOf({ ...base, HIPAA_AUDIT_ENABLED: 'false' }).join()).toMatch(
      /HIPAA_AUDIT_ENABLED/,
    );
    expect(problemsOf({ ...base, CORS_ORIGINS: '*' }).join()).toMatch(/CORS_ORIGINS/);
  });

  it('refuses mixing HMAC and asymmetric JWT algorithms', () => {
    expect(problemsOf({ JWT_ALGORITHM: 'HS256,RS256' }).join()).toMatch(/JWT_ALGORITHM/);
    expect(problemsOf({ JWT_ALGORITHM: 'none' }).join()).toMatch(/JWT_ALGORITHM/);
  });

  it('takes REDIS_MODE=cluster with a seed URL and more seeds, and refuses what a cluster cannot be', () => {
    const env = loadEnv({
      REDIS_MODE: 'cluster',
      REDIS_URL: 'rediss://u:pw@redis-0:6379',
      REDIS_CLUSTER_NODES: 'redis-1:6379, [::1]:6380',
    });
    expect(env.REDIS_MODE).toBe('cluster');
    expect(env.REDIS_CLUSTER_NODES).toEqual(['redis-1:6379', '[::1]:6380']);
    expect(loadEnv({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://r:6379/0' }).REDIS_MODE).toBe(
      'cluster',
    );
    expect(loadEnv({}).REDIS_MODE).toBe('standalone');

    expect(problemsOf({ REDIS_MODE: 'sentinel' }).join()).toMatch(
      /REDIS_MODE must be one of standalone, cluster/,
    );
    expect(problemsOf({ REDIS_MODE: 'cluster' }).join()).toMatch(
      /REDIS_MODE: cluster needs REDIS_URL/,
    );
    const db = problemsOf({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://:s3cret@r:6379/3' }).join();
    expect(db).toMatch(/REDIS_URL: a Redis Cluster has database 0 only/);
    expect(db).not.toMatch(/s3cret/);
    expect(
      problemsOf({
        REDIS_MODE: 'cluster',
        REDIS_URL: 'redis://r:6379',
        REDIS_CLUSTER_NODES: 'r2',
      }).join(),
    ).toMatch(/each REDIS_CLUSTER_NODES entry must be host:port/);
    expect(
      problemsOf({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r2:6379' }).join(),
    ).toMatch(/REDIS_CLUSTER_NODES: only used with REDIS_MODE=cluster/);
  });

  it('refuses an S3 attachment store without a bucket, or half a key pair', () => {
    expect(problemsOf({ ATTACHMENT_STORE: 's3' }).join()).toMatch(/S3_BUCKET/);
    expect(
      problemsOf({ ATTACHMENT_STORE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k' }).join(),
    ).toMatch(/S3_SECRET_ACCESS_KEY/);
    expect(problemsOf({ ATTACHMENT_STORE: 'disk' }).join()).toMatch(/ATTACHMENT_STORE/);
    const env = loadEnv({ ATTACHMENT_STORE: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: 'true' });
    expect(env.S3_FORCE_PATH_STYLE).toBe(true);
    expect(loadEnv({ LHCMS_DATA_DIR: '/srv/lhcms/' }).attachmentDir).toBe('/srv/lhcms/attachments');
    expect(describeEnv(loadEnv({ S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 'hush' }))).toContain(
      'S3_SECRET_ACCESS_KEY=****',
    );
  });

  it('ignores variables it does not declare and masks secrets when described', () => {
    const env = loadEnv({ PATH: '/bin', SECRET_KEY: 's'.repeat(40) });
    expect((env as unknown as Record<string, unknown>).PATH).toBeUndefined();
    const lines = describeEnv(env);
    expect(lines).toContain('SECRET_KEY=****');
    expect(lines).toContain('PORT=5001');
  });
});

describe('configuration docs', () => {
  it('declares every variable of the seed production.env and compose file', () => {
    const names = new Set(envDeclarations().map((d) => d.name));
    const seed = [
      'FLASK_ENV',
      'SECRET_KEY',
      'DATABASE_URL',
      'REDIS_URL',
      'BCRYPT_LOG_ROUNDS',
      'JWT_ACCESS_TOKEN_EXPIRES',
      'JWT_REFRESH_TOKEN_EXPIRES',
      'SESSION_COOKIE_SECURE',
      'SESSION_COOKIE_HTTPONLY',
      'HIPAA_AUDIT_ENABLED',
      'ENCRYPTION_KEY_ID',
      'DATA_RETENTION_DAYS',
      'SENTRY_DSN',
      'NEW_RELIC_LICENSE_KEY',
      'UMS_BASE_URL',
      'UMS_API_KEY',
      'PORT',
      'LINKSHUB_CORE_URL',
      'CORS_ORIGINS',
      'API_VERSION',
      'JWT_SECRET_KEY',
      'JWT_ALGORITHM',
      'DEFAULT_PAGE_SIZE',
      'MAX_PAGE_SIZE',
      'LOG_LEVEL',
      'UMS_URL',
    ];
    expect(seed.filter((n) => !names.has(n))).toEqual([]);
  });

  it('.env.example is generated from the declarations (npm run config:docs)', () => {
    expect(fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8')).toBe(renderEnvExample());
  });

  it(`the configuration table of ${GENERATED_TABLES_DOC} is generated from the declarations`, () => {
    const doc = fs.readFileSync(path.join(ROOT, GENERATED_TABLES_DOC), 'utf8');
    const start = doc.indexOf(ENV_TABLE_BEGIN);
    const end = doc.indexOf(ENV_TABLE_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(doc.slice(start + ENV_TABLE_BEGIN.length, end).trim()).toBe(renderEnvTable());
  });
});
