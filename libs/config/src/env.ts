import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { BoolEnv, EnvVar, IntEnv, ListEnv } from './env.decorators';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const PG_URL = /^postgres(ql)?:\/\/\S+$/;
const REDIS_URL = /^rediss?:\/\/\S*$/;
export const REDIS_MODES = ['standalone', 'cluster'] as const;
export type RedisMode = (typeof REDIS_MODES)[number];
/** `host:port` of a Redis Cluster seed node (a name, IPv4, or a bracketed IPv6 address). */
export const REDIS_NODE_ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/**
 * Every environment variable LHCMS reads, declared once: type, default, meaning,
 * secret or not. The configuration table of docs/operations.md and `.env.example` are
 * generated from these declarations (`npm run config:docs`), and a test fails
 * when they drift. Nothing else in the code base reads `process.env`.
 */
export class Env {
  // ---- server -------------------------------------------------------------
  @EnvVar({
    group: 'server',
    description:
      'Runtime mode. `production` refuses to start without DATABASE_URL, UMS_BASE_URL and the secrets, and never embeds anything.',
  })
  @IsIn(NODE_ENVS)
  NODE_ENV: NodeEnv = 'development';

  @EnvVar({
    group: 'server',
    description:
      "The original's mode variable. Read only when NODE_ENV is not set: `production` maps to production, `qa` to test, anything else to development.",
  })
  @IsOptional()
  @IsString()
  FLASK_ENV?: string;

  @EnvVar({ group: 'server', description: 'HTTP port of the API.' })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 5001;

  @EnvVar({ group: 'server', description: 'Interface the API listens on.' })
  @IsString()
  HOST = '0.0.0.0';

  @EnvVar({
    group: 'server',
    description: 'API version segment of the URL prefix (`/api/v1`). Only `v1` exists.',
  })
  @IsIn(['v1'])
  API_VERSION = 'v1';

  @EnvVar({
    group: 'server',
    description: 'Largest accepted request body in bytes; larger bodies get 413.',
  })
  @IntEnv()
  @IsInt()
  @Min(1024)
  BODY_LIMIT_BYTES = 1_048_576;

  @EnvVar({
    group: 'server',
    description:
      'Deepest nesting of arrays and objects accepted in a JSON request body (the body itself is level 1); deeper bodies get 400 before anything else reads them.',
  })
  @IntEnv()
  @IsInt()
  @Min(4)
  @Max(512)
  JSON_MAX_DEPTH = 32;

  // ---- attachments ----------------------------------------------------------
  @EnvVar({
    group: 'attachments',
    description:
      'Largest accepted attachment in bytes (default 250 MiB); an upload is refused with 413 as soon as it passes this.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  ATTACHMENT_MAX_BYTES = 262_144_000;

  @EnvVar({
    group: 'attachments',
    description:
      'Comma-separated content types accepted as attachments, as sniffed from the bytes (never the filename or the Content-Type sent); anything else is 415.',
    example: 'model/stl,application/pdf',
  })
  @ListEnv()
  @IsString({ each: true })
  ATTACHMENT_ALLOWED_TYPES: string[] = [
    'model/stl',
    'model/obj',
    'model/ply',
    'application/dicom',
    'image/jpeg',
    'image/png',
    'application/pdf',
  ];

  @EnvVar({
    group: 'attachments',
    description:
      "MiB of attachment bytes (received or served, all transfers together) after which a young-generation garbage collection runs, so the transfers' short-lived buffers are freed cheaply before V8 marks the whole heap for them (docs/adr/0025). 0 leaves collection to V8.",
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(1024)
  ATTACHMENT_GC_EVERY_MIB = 8;

  @EnvVar({
    group: 'attachments',
    description: 'Most live (not deleted) attachments one case may have; one more is 409.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  ATTACHMENT_MAX_PER_CASE = 100;

  @EnvVar({
    group: 'attachments',
    description:
      'Most bytes the live attachments of one case may take together (default 2 GiB); an upload past it is refused with 413 as soon as it passes.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  ATTACHMENT_MAX_CASE_BYTES = 2_147_483_648;

  @EnvVar({
    group: 'server',
    description:
      'Idle keep-alive timeout of the HTTP server in ms; keep it above the load balancer idle timeout (60 s).',
  })
  @IntEnv()
  @IsInt()
  @Min(1000)
  KEEP_ALIVE_TIMEOUT_MS = 65_000;

  @EnvVar({
    group: 'server',
    description: 'Time allowed to receive request headers in ms; above KEEP_ALIVE_TIMEOUT_MS.',
  })
  @IntEnv()
  @IsInt()
  @Min(1000)
  HEADERS_TIMEOUT_MS = 66_000;

  @EnvVar({
    group: 'server',
    description:
      'After SIGTERM, milliseconds to keep serving with readiness already 503 before the server stops accepting connections, so that load balancers without a Kubernetes preStop hook deregister the instance first. 0: stop accepting at once. The Helm chart sets 3000 after its preStop sleep, so endpoint removal has reached every proxy before the listener closes; idle keep-alive connections are closed during the delay after 500 ms of quiet, and every response in it carries `Connection: close`.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(60_000)
  SHUTDOWN_DELAY_MS = 0;

  @EnvVar({
    group: 'server',
    description:
      'Comma-separated proxies (IPs or CIDRs) whose X-Forwarded-For is believed when taking the client IP for audit and rate limits. Empty: the socket address.',
    example: '10.0.0.0/8',
  })
  @ListEnv()
  @IsString({ each: true })
  TRUSTED_PROXIES: string[] = [];

  @EnvVar({
    group: 'server',
    description:
      "Comma-separated origins allowed by CORS. Empty: no cross-origin access. `*` is refused in production (the original's default was `*`).",
    example: 'http://localhost:3000,http://127.0.0.1:3000',
  })
  @ListEnv()
  @IsString({ each: true })
  CORS_ORIGINS: string[] = [];

  // ---- secrets ------------------------------------------------------------
  @EnvVar({
    group: 'secrets',
    secret: true,
    description:
      'Root secret of this deployment (at least 32 characters). Keys that are not configured explicitly (audit chain HMAC, blind index) are derived from it. Required in production.',
    example: 'change-me-to-64-random-characters',
  })
  @IsOptional()
  @IsString()
  @MinLength(32)
  SECRET_KEY?: string;

  // ---- database -----------------------------------------------------------
  @EnvVar({
    group: 'database',
    secret: true,
    description:
      'PostgreSQL URL the API uses (the application role). Unset outside production: an embedded PostgreSQL 17 is started under LHCMS_DATA_DIR.',
    example: 'postgresql://lhcms_app:password@localhost:5432/lhcms',
  })
  @IsOptional()
  @Matches(PG_URL, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @EnvVar({
    group: 'database',
    secret: true,
    description:
      'PostgreSQL URL of the schema owner, used by migrations and the retention job. Defaults to DATABASE_URL.',
    example: 'postgresql://lhcms_owner:password@localhost:5432/lhcms',
  })
  @IsOptional()
  @Matches(PG_URL, { message: 'DATABASE_OWNER_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_OWNER_URL?: string;

  @EnvVar({
    group: 'database',
    secret: true,
    description:
      'Comma-separated URLs of streaming standbys (the same database and application role as DATABASE_URL). When set, the case list reads from a standby that is up and within DATABASE_REPLICA_MAX_LAG_MS, else from the primary; writes and reads by id always go to the primary (docs/operations.md, "Read replicas"). Each API replica opens a pool of up to DB_POOL_SIZE + DB_MAX_OVERFLOW connections per standby. A standby that is down at start does not delay readiness.',
  })
  @ListEnv()
  @Matches(PG_URL, {
    each: true,
    message: 'each DATABASE_REPLICA_URLS entry must be a postgres URL',
  })
  DATABASE_REPLICA_URLS: string[] = [];

  @EnvVar({
    group: 'database',
    description:
      'Largest replication lag (ms) at which a standby still serves reads; past it, reads go to the primary until the standby catches up. The lag is measured by DATABASE_REPLICA_PROBE_MS probes (WAL position against the primary, so an idle primary reads as 0).',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  DATABASE_REPLICA_MAX_LAG_MS = 5000;

  @EnvVar({
    group: 'database',
    description:
      'How often (ms) each standby in DATABASE_REPLICA_URLS is probed for health and replication lag (one short query on the standby and one on the primary).',
  })
  @IntEnv()
  @IsInt()
  @Min(100)
  DATABASE_REPLICA_PROBE_MS = 1000;

  @EnvVar({
    group: 'database',
    description: "Connections kept open in the pool (the seed's SQLAlchemy `pool_size`).",
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  DB_POOL_SIZE = 20;

  @EnvVar({
    group: 'database',
    description:
      'Extra connections opened under load and closed when idle (`max_overflow`); the pool never exceeds DB_POOL_SIZE + DB_MAX_OVERFLOW. With auditing on, each replica also keeps 3 connections of its own for the audit trail (`application_name` lhcms-audit): plan max_connections for both.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  DB_MAX_OVERFLOW = 30;

  @EnvVar({
    group: 'database',
    description: 'Seconds after which a connection is replaced (`pool_recycle`).',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  DB_POOL_RECYCLE = 3600;

  @EnvVar({
    group: 'database',
    description:
      'Detect dead connections (`pool_pre_ping`): TCP keep-alive on every connection, and broken idle connections are evicted before reuse.',
  })
  @BoolEnv()
  @IsBoolean()
  DB_POOL_PRE_PING = true;

  @EnvVar({
    group: 'database',
    description:
      "Seconds a request waits for a database connection — a free one from the pool, or a new one being opened — before it fails with 503 `Database unavailable` and `Retry-After` (the seed's `pool_timeout`). Short on purpose: a slow or exhausted database sheds load quickly instead of queueing requests for many seconds.",
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  DB_POOL_TIMEOUT = 2;

  @EnvVar({
    group: 'database',
    description:
      'Requests that may wait for a database connection at once (per replica); one more is answered 503 `Database unavailable` with `Retry-After` at once. 0: no bound.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  DB_POOL_MAX_WAITING = 100;

  @EnvVar({
    group: 'database',
    description:
      'Server-side statement timeout in ms (0 = none). The client gives up 2 s after it (a server that has gone silent, e.g. behind a network black hole): that request answers 503 and its connection is discarded.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  DB_STATEMENT_TIMEOUT_MS = 30_000;

  @EnvVar({
    group: 'database',
    description:
      'Apply pending migrations when the API starts. Default: on outside production; in production the Helm migration Job runs them.',
  })
  @IsOptional()
  @BoolEnv()
  @IsBoolean()
  DB_MIGRATE_ON_START?: boolean;

  // ---- cache --------------------------------------------------------------
  @EnvVar({
    group: 'cache',
    secret: true,
    description:
      'Redis URL for the shared cache (principals, rate limits); with REDIS_MODE=cluster, one node of the cluster. Unset: an in-process memory cache (one replica only).',
    example: 'redis://localhost:6379/0',
  })
  @IsOptional()
  @Matches(REDIS_URL, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @EnvVar({
    group: 'cache',
    description:
      '`standalone`: REDIS_URL is one Redis server (or a proxy in front of one). `cluster`: REDIS_URL is one node of a Redis Cluster (three masters or more): LHCMS discovers the others from it, sends each key to the master that owns its slot, and applies the user, password and TLS (`rediss://`) of REDIS_URL to every node. A cluster has database 0 only, so REDIS_URL may not name another.',
  })
  @IsIn(REDIS_MODES, { message: `REDIS_MODE must be one of ${REDIS_MODES.join(', ')}` })
  REDIS_MODE: RedisMode = 'standalone';

  @EnvVar({
    group: 'cache',
    description:
      'With REDIS_MODE=cluster: further seed nodes, comma-separated `host:port`, asked for the cluster layout when the node of REDIS_URL does not answer (credentials and TLS are those of REDIS_URL). Empty: REDIS_URL alone.',
    example: 'redis-1:6379,redis-2:6379',
  })
  @ListEnv()
  @Matches(REDIS_NODE_ADDRESS, {
    each: true,
    message: 'each REDIS_CLUSTER_NODES entry must be host:port',
  })
  REDIS_CLUSTER_NODES: string[] = [];

  @EnvVar({
    group: 'cache',
    description:
      'Prefix of every Redis key LHCMS writes (cache, rate-limit counters), so deployments can share a Redis.',
  })
  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, {
    message: 'REDIS_KEY_PREFIX must be 1 to 64 of [A-Za-z0-9:_-]',
  })
  REDIS_KEY_PREFIX = 'lhcms';

  @EnvVar({
    group: 'cache',
    description:
      'Milliseconds one Redis call may take before LHCMS gives up on it and treats Redis as down: the cache falls back to process memory and the rate limit to a per-process count, Redis is skipped until a background PING answers again. Keep it far below the request budget.',
  })
  @IntEnv()
  @IsInt()
  @Min(10)
  @Max(5000)
  REDIS_TIMEOUT_MS = 150;

  // ---- security -------------------------------------------------------------
  @EnvVar({
    group: 'security',
    description:
      "Requests per user per window (the original's documented 100/minute). Counted in Redis when REDIS_URL is set, so all replicas share them; 0 disables.",
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 100;

  @EnvVar({ group: 'security', description: 'Length of the rate-limit window in seconds.' })
  @IntEnv()
  @IsInt()
  @Min(1)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  // ---- UMS ----------------------------------------------------------------
  @EnvVar({
    group: 'ums',
    description:
      'Base URL of the User Management Service. Unset outside production: the bundled ums-dev is started on UMS_DEV_PORT.',
    example: 'http://localhost:5000',
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  UMS_BASE_URL?: string;

  @EnvVar({
    group: 'ums',
    description: "The original's name for UMS_BASE_URL; read only when UMS_BASE_URL is not set.",
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  UMS_URL?: string;

  @EnvVar({
    group: 'ums',
    secret: true,
    description: 'Sent as `X-API-Key` on every UMS call when set.',
  })
  @IsOptional()
  @IsString()
  UMS_API_KEY?: string;

  @EnvVar({ group: 'ums', description: 'Timeout of one UMS call in ms.' })
  @IntEnv()
  @IsInt()
  @Min(100)
  UMS_TIMEOUT_MS = 3000;

  @EnvVar({
    group: 'ums',
    description: 'Retries of an idempotent UMS GET after a network error or 5xx (0 = none).',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(5)
  UMS_RETRIES = 2;

  @EnvVar({
    group: 'ums',
    description:
      'Seconds a resolved principal is cached (never beyond the token expiry). 0 disables the cache.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  UMS_CACHE_TTL = 300;

  @EnvVar({
    group: 'ums',
    description:
      'Seconds a resolved principal is also kept in the process, in front of the shared cache (saves a Redis round trip per request; a membership change reaches this replica at most this late). 0 disables.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(60)
  UMS_LOCAL_CACHE_TTL = 10;

  @EnvVar({
    group: 'ums',
    description:
      'Seconds a UMS rejection (401) of a token is cached, so a flood of bad tokens does not hammer the UMS.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  UMS_NEGATIVE_CACHE_TTL = 30;

  @EnvVar({
    group: 'ums',
    description: 'Consecutive UMS failures that open the circuit breaker.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  UMS_BREAKER_THRESHOLD = 5;

  @EnvVar({
    group: 'ums',
    description: 'Milliseconds the breaker stays open before one trial call is let through.',
  })
  @IntEnv()
  @IsInt()
  @Min(100)
  UMS_BREAKER_RESET_MS = 10_000;

  @EnvVar({
    group: 'ums',
    secret: true,
    description:
      'Shared HS256 secret of the UMS. When set, token signatures are verified locally before any UMS call. Production needs it or UMS_JWKS_URL.',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  JWT_SECRET_KEY?: string;

  @EnvVar({
    group: 'ums',
    description:
      'Comma-separated JWT algorithms accepted (allowlist). `none` is never accepted; HS* and RS*/ES* cannot be mixed.',
  })
  @ListEnv()
  @IsIn(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'PS256'], {
    each: true,
  })
  JWT_ALGORITHM: string[] = ['HS256'];

  @EnvVar({
    group: 'ums',
    description:
      'JWKS URL of the UMS for RS256/ES256 tokens; takes precedence over JWT_SECRET_KEY when set.',
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  UMS_JWKS_URL?: string;

  @EnvVar({
    group: 'ums',
    description:
      "Access-token lifetime in seconds issued by ums-dev (LHCMS itself honours each token's `exp`).",
  })
  @IntEnv()
  @IsInt()
  @Min(60)
  JWT_ACCESS_TOKEN_EXPIRES = 3600;

  @EnvVar({
    group: 'ums',
    description: 'Refresh-token lifetime in seconds issued by ums-dev.',
  })
  @IntEnv()
  @IsInt()
  @Min(60)
  JWT_REFRESH_TOKEN_EXPIRES = 2_592_000;

  // ---- LinksHub Core -------------------------------------------------------
  @EnvVar({
    group: 'linkshub',
    description:
      'Doctor/product directory (LinksHub Core). Unset: create-time doctor and product checks are skipped and doctor-info answers 501 (not configured; outside the error SLO).',
    example: 'https://core.linkstechnologies.io',
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  LINKSHUB_CORE_URL?: string;

  @EnvVar({ group: 'linkshub', description: 'Timeout of one LinksHub Core call in ms.' })
  @IntEnv()
  @IsInt()
  @Min(100)
  LINKSHUB_TIMEOUT_MS = 5000;

  // ---- API ----------------------------------------------------------------
  @EnvVar({ group: 'api', description: 'Default `per_page` of the case list.' })
  @IntEnv()
  @IsInt()
  @Min(1)
  DEFAULT_PAGE_SIZE = 20;

  @EnvVar({ group: 'api', description: 'Largest `per_page` / `limit` of the case list.' })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(1000)
  MAX_PAGE_SIZE = 100;

  // ---- HIPAA --------------------------------------------------------------
  @EnvVar({
    group: 'hipaa',
    description: 'Write the HIPAA audit trail. `false` is refused in production.',
  })
  @BoolEnv()
  @IsBoolean()
  HIPAA_AUDIT_ENABLED = true;

  @EnvVar({
    group: 'hipaa',
    description:
      'Days a case (also a soft-deleted one) is kept before the retention job may purge it. Audit rows are kept at least 6 years whatever this says.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  DATA_RETENTION_DAYS = 2555;

  @EnvVar({
    group: 'hipaa',
    description:
      'Where the key-encryption key (KEK) that wraps the per-lab data keys lives: `local` (ENCRYPTION_LOCAL_KEK) or `aws-kms` (ENCRYPTION_KEY_ID).',
  })
  @IsIn(['local', 'aws-kms'])
  ENCRYPTION_PROVIDER: 'local' | 'aws-kms' = 'local';

  @EnvVar({
    group: 'hipaa',
    description:
      'AWS KMS key id or ARN of the KEK (ENCRYPTION_PROVIDER=aws-kms). Required in production with aws-kms.',
    example: 'aws-kms-key-id',
  })
  @IsOptional()
  @IsString()
  ENCRYPTION_KEY_ID?: string;

  @EnvVar({
    group: 'hipaa',
    secret: true,
    description:
      'The local KEK: 32 random bytes, base64 (`openssl rand -base64 32`). Required in production with ENCRYPTION_PROVIDER=local; the embedded default generates one under LHCMS_DATA_DIR.',
  })
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'ENCRYPTION_LOCAL_KEK must be 32 bytes in base64' })
  ENCRYPTION_LOCAL_KEK?: string;

  @EnvVar({
    group: 'hipaa',
    description:
      'Decrypted PHI field values kept in process memory, keyed by their ciphertext and binding (lab and column), so a case read again is not decrypted again (a list page is ~400 AES-GCM decryptions). Never written anywhere; an entry is dropped after PHI_PLAINTEXT_CACHE_SECONDS. 0 turns it off.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  PHI_PLAINTEXT_CACHE_ENTRIES = 20_000;

  @EnvVar({
    group: 'hipaa',
    description:
      'Seconds a decrypted PHI value stays in the process cache (PHI_PLAINTEXT_CACHE_ENTRIES).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(86_400)
  PHI_PLAINTEXT_CACHE_SECONDS = 300;

  @EnvVar({
    group: 'hipaa',
    secret: true,
    description:
      'Comma-separated retired local KEKs, still used to unwrap until `lhcms keys rotate` has re-wrapped every data key under ENCRYPTION_LOCAL_KEK.',
  })
  @ListEnv()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, {
    each: true,
    message: 'each ENCRYPTION_LOCAL_KEKS_RETIRED entry must be 32 bytes in base64',
  })
  ENCRYPTION_LOCAL_KEKS_RETIRED: string[] = [];

  @EnvVar({
    group: 'hipaa',
    description: 'AWS region of the KMS key (ENCRYPTION_PROVIDER=aws-kms).',
  })
  @IsString()
  AWS_REGION = 'us-east-1';

  @EnvVar({
    group: 'hipaa',
    description:
      'KMS endpoint override (a VPC endpoint, or a local KMS-compatible server in tests). Credentials come from the AWS default chain (env, web identity, instance role).',
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  KMS_ENDPOINT?: string;

  @EnvVar({
    group: 'hipaa',
    secret: true,
    description:
      'HMAC key of the audit hash chain and its signed checkpoints (at least 32 characters), kept outside the database. Unset: derived from SECRET_KEY. Changing it makes the existing chain unverifiable.',
  })
  @IsOptional()
  @IsString()
  @MinLength(32)
  AUDIT_HMAC_KEY?: string;

  @EnvVar({
    group: 'hipaa',
    description:
      'Folder the audit sealer writes signed checkpoints to (one sub-folder per chain). Unset: `<LHCMS_DATA_DIR>/audit-checkpoints`. In production mount storage that is copied to an object-locked (WORM) bucket.',
    example: '/var/lib/lhcms/audit-checkpoints',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  AUDIT_CHECKPOINT_DIR?: string;

  @EnvVar({
    group: 'hipaa',
    description: 'Seconds between signed audit checkpoints (written only when the chain grew).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  AUDIT_CHECKPOINT_INTERVAL_S = 300;

  @EnvVar({
    group: 'hipaa',
    description:
      'Milliseconds between sealing rounds that link new audit events into the hash chain (0: no sealer in this process).',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  AUDIT_SEAL_INTERVAL_MS = 1000;

  @EnvVar({
    group: 'hipaa',
    description: 'Largest group-commit batch of read audit events (rows of one INSERT).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(1000)
  AUDIT_BATCH_MAX_SIZE = 100;

  @EnvVar({
    group: 'hipaa',
    description:
      'Group-commit batches of read audit events written at once, each on its own audit connection. 1: events arriving while a batch commits wait for it and go together in the next one, so PostgreSQL commits less often (on average 4–5 % more throughput than 2 in interleaved `bench:audit` runs); 2: a second batch may start while one commits, after AUDIT_BATCH_LINGER_MS (lower latency when commits are slow).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(2)
  AUDIT_BATCH_MAX_IN_FLIGHT = 1;

  @EnvVar({
    group: 'hipaa',
    description:
      'With AUDIT_BATCH_MAX_IN_FLIGHT=2: milliseconds a read audit event may wait for others to join its batch while another batch is being written (an idle writer flushes at once).',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(50)
  AUDIT_BATCH_LINGER_MS = 2;

  @EnvVar({
    group: 'hipaa',
    description:
      'Where the audit log stream goes (one JSON line per audit event, `"log":"audit"`, no PHI): `stdout`, `stderr` or a file path.',
  })
  @IsString()
  @MaxLength(4096)
  AUDIT_LOG_DESTINATION = 'stdout';

  @EnvVar({
    group: 'hipaa',
    description:
      'Comma-separated UMS platform roles (the `roles` of the UMS user) that may request emergency access (break-glass grants, docs/hipaa.md) besides a UMS system admin (`is_admin`). Empty: system admins only.',
    example: 'platform-support',
  })
  @ListEnv()
  @IsString({ each: true })
  EMERGENCY_ACCESS_ROLES: string[] = [];

  @EnvVar({
    group: 'hipaa',
    description: 'Minutes an emergency-access grant lasts when the request names no duration.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  EMERGENCY_ACCESS_DEFAULT_MINUTES = 60;

  @EnvVar({
    group: 'hipaa',
    description: 'The longest emergency-access grant, in minutes (a longer request is 400).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(10_080)
  EMERGENCY_ACCESS_MAX_MINUTES = 480;

  @EnvVar({
    group: 'hipaa',
    description:
      'Second-person approval of emergency access: `true` makes a new grant `pending` (no access) until another platform-role user or an admin of the lab approves it (`POST /api/v1/emergency-access/{id}/approve`); its duration starts then. `false`: a grant takes effect at once.',
  })
  @BoolEnv()
  @IsBoolean()
  EMERGENCY_ACCESS_APPROVAL = false;

  @EnvVar({
    group: 'hipaa',
    description:
      "Comma-separated UMS platform roles (the `roles` of the UMS user) of compliance officers: they may use the audit review, export and patient access report of any lab (naming it in X-Lab-Id; each use audited in that lab), never a case's PHI. Empty: nobody.",
    example: 'compliance',
  })
  @ListEnv()
  @IsString({ each: true })
  COMPLIANCE_ROLES: string[] = [];

  // ---- observability ------------------------------------------------------
  @EnvVar({
    group: 'observability',
    description: 'Log level (fatal, error, warn, info, debug, trace, silent).',
  })
  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  @EnvVar({
    group: 'observability',
    secret: true,
    description: 'When set, `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>`.',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  @EnvVar({
    group: 'observability',
    secret: true,
    description: 'Sentry DSN.',
    notActedOn:
      'accepted for compatibility with the seed; errors go to the JSON logs and metrics instead.',
  })
  @IsOptional()
  @IsString()
  SENTRY_DSN?: string;

  @EnvVar({
    group: 'observability',
    secret: true,
    description: 'New Relic licence key.',
    notActedOn: 'accepted for compatibility with the seed; use the Prometheus metrics.',
  })
  @IsOptional()
  @IsString()
  NEW_RELIC_LICENSE_KEY?: string;

  // ---- attachment storage -------------------------------------------------
  @EnvVar({
    group: 'events',
    description:
      'Webhook targets allowed although the URL policy refuses them (docs/events.md, "URL policy"): host names (exact) and CIDRs or single addresses (`10.1.2.0/24`, `fd00::/8`), comma-separated. Loopback is allowed anyway outside production.',
    example: 'hooks.internal.example,10.20.0.0/16',
  })
  @ListEnv()
  @IsString({ each: true })
  WEBHOOK_ALLOWED_HOSTS: string[] = [];

  @EnvVar({
    group: 'events',
    description: 'Most webhook subscriptions one lab may have; one more is refused (409).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(10_000)
  WEBHOOKS_MAX_PER_LAB = 25;

  @EnvVar({
    group: 'events',
    description:
      'Hours the previous signing secret of a webhook keeps signing (a second signature) after a rotation, so receivers can switch without missing a delivery. 0: it stops at once.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(720)
  WEBHOOK_SECRET_OVERLAP_HOURS = 24;

  @EnvVar({
    group: 'events',
    description:
      'NATS server(s) of the optional JetStream sink of case events (docs/events.md), comma-separated `nats://host:port` (or `tls://` for TLS). Unset: no JetStream sink.',
    example: 'nats://127.0.0.1:4222',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, {
    message: 'EVENTS_NATS_URL must be nats://host:port or tls://host:port, comma-separated',
  })
  EVENTS_NATS_URL?: string;

  @EnvVar({
    group: 'events',
    description:
      'JetStream stream of the case events (EVENTS_NATS_URL); created with the subjects `<EVENTS_NATS_SUBJECT_PREFIX>.>` when missing.',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  EVENTS_NATS_STREAM = 'LHCMS_EVENTS';

  @EnvVar({
    group: 'events',
    description: 'First token of the NATS subjects: an event goes to `<prefix>.<lab_id>.<type>`.',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/)
  EVENTS_NATS_SUBJECT_PREFIX = 'lhcms';

  @EnvVar({
    group: 'events',
    description:
      'Seconds between heartbeats (an SSE comment line) on an idle live-feed stream (`GET /api/v1/events/stream`, docs/events.md); keeps proxies from closing it and lets a client notice a dead connection.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(300)
  EVENTS_STREAM_HEARTBEAT_SECONDS = 15;

  @EnvVar({
    group: 'events',
    description:
      "Milliseconds between the live-feed poller's reads of newly dispatched events (one poller per replica, for all its open streams; it runs only while streams are open).",
  })
  @IntEnv()
  @IsInt()
  @Min(20)
  @Max(10_000)
  EVENTS_STREAM_POLL_MS = 250;

  @EnvVar({
    group: 'events',
    description:
      'Open live-feed streams one user may hold on one replica; one more is refused with 429 (Retry-After).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(1000)
  EVENTS_STREAM_MAX_PER_USER = 5;

  @EnvVar({
    group: 'events',
    description:
      'Open live-feed streams one replica serves in all; one more is refused with 503 (Retry-After), so the client tries another replica.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(100_000)
  EVENTS_STREAM_MAX_PER_REPLICA = 1000;

  @EnvVar({
    group: 'events',
    description:
      'Whether this replica runs the outbox dispatcher (docs/events.md): `on` (the default; with several replicas one dispatches at a time and another takes over) or `off` (events wait in the outbox for a replica that runs it; the webhooks, the live feed and the NATS sink see nothing until then).',
  })
  @IsIn(['on', 'off'])
  EVENTS_DISPATCHER: 'on' | 'off' = 'on';

  @EnvVar({
    group: 'events',
    description:
      'Milliseconds between rounds of the outbox dispatcher when the outbox was empty (the delay an event can wait before the webhooks, the live feed and the NATS sink see it).',
  })
  @IntEnv()
  @IsInt()
  @Min(10)
  EVENTS_DISPATCH_INTERVAL_MS = 200;

  @EnvVar({
    group: 'events',
    description:
      'Whether this replica runs the webhook delivery worker (docs/events.md, "Delivery"): `on` (the default; it runs where EVENTS_DISPATCHER=on, and any number of replicas share the work) or `off`.',
  })
  @IsIn(['on', 'off'])
  WEBHOOK_WORKER: 'on' | 'off' = 'on';

  @EnvVar({
    group: 'events',
    description:
      'Milliseconds a webhook receiver has to answer (connect, headers and body): a later answer is a failed attempt, retried.',
  })
  @IntEnv()
  @IsInt()
  @Min(100)
  @Max(120_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @EnvVar({
    group: 'events',
    description:
      "Webhook deliveries one replica sends at once (different subscriptions or cases; a case's deliveries to a subscription go one after the other).",
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(256)
  WEBHOOK_CONCURRENCY = 16;

  @EnvVar({
    group: 'events',
    description:
      'Milliseconds between looks for due webhook deliveries when there was nothing to send.',
  })
  @IntEnv()
  @IsInt()
  @Min(10)
  WEBHOOK_POLL_INTERVAL_MS = 250;

  @EnvVar({
    group: 'events',
    description:
      'Milliseconds a replica holds a webhook delivery it is sending; a replica that dies mid-delivery leaves the lease, and another retries once it expired. At least WEBHOOK_TIMEOUT_MS + 5000 is used.',
  })
  @IntEnv()
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  WEBHOOK_LEASE_MS = 60_000;

  @EnvVar({
    group: 'events',
    description:
      'First retry delay of a failed webhook delivery in milliseconds; it doubles with each attempt up to WEBHOOK_RETRY_MAX_MS, and the wait is random between 0 and that (full jitter).',
  })
  @IntEnv()
  @IsInt()
  @Min(10)
  WEBHOOK_RETRY_BASE_MS = 5000;

  @EnvVar({
    group: 'events',
    description: 'Longest retry delay of a failed webhook delivery in milliseconds.',
  })
  @IntEnv()
  @IsInt()
  @Min(10)
  WEBHOOK_RETRY_MAX_MS = 3_600_000;

  @EnvVar({
    group: 'events',
    description:
      'Hours a webhook delivery is retried after it was made; the last attempt is made at the end of that window, and a delivery that failed it is dead (dead letter; the next delivery of its case proceeds).',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(720)
  WEBHOOK_RETRY_HOURS = 24;

  @EnvVar({
    group: 'events',
    description:
      "Bytes of a webhook receiver's response body read at most (then the connection is closed; the status code alone decides the outcome, the body is never stored).",
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(10 * 1024 * 1024)
  WEBHOOK_RESPONSE_MAX_BYTES = 65_536;

  @EnvVar({
    group: 'events',
    description:
      'Most deliveries one webhook replay may make: a window with more matching events is refused (400); replay shorter windows.',
  })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  WEBHOOK_REPLAY_MAX = 10_000;

  @EnvVar({
    group: 'storage',
    description:
      'Where case attachments (encrypted) are stored: `filesystem` (ATTACHMENT_DIR; one instance, or a shared POSIX volume) or `s3` (an S3-compatible bucket, S3_*).',
  })
  @IsIn(['filesystem', 's3'])
  ATTACHMENT_STORE: 'filesystem' | 's3' = 'filesystem';

  @EnvVar({
    group: 'storage',
    description:
      'Folder of the filesystem attachment store (ATTACHMENT_STORE=filesystem). Unset: `<LHCMS_DATA_DIR>/attachments`. In production mount a persistent volume that is backed up with the database.',
    example: '/var/lib/lhcms/attachments',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  ATTACHMENT_DIR?: string;

  @EnvVar({
    group: 'storage',
    description:
      'S3-compatible endpoint URL (MinIO, SeaweedFS, Ceph RGW, a VPC endpoint). Unset: AWS S3 of S3_REGION.',
    example: 'http://127.0.0.1:8333',
  })
  @IsOptional()
  @IsUrl(HTTP_URL)
  S3_ENDPOINT?: string;

  @EnvVar({
    group: 'storage',
    description:
      'Bucket of the attachments (ATTACHMENT_STORE=s3, required then). LHCMS does not create it.',
    example: 'lhcms-attachments',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  S3_BUCKET?: string;

  @EnvVar({ group: 'storage', description: 'Region of the S3 bucket (signing region).' })
  @IsString()
  S3_REGION = 'us-east-1';

  @EnvVar({
    group: 'storage',
    description:
      'Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need; false: virtual-hosted style (`bucket.endpoint/key`), as AWS prefers.',
  })
  @BoolEnv()
  @IsBoolean()
  S3_FORCE_PATH_STYLE = false;

  @EnvVar({
    group: 'storage',
    description:
      'Access key id for the bucket. Unset (with S3_SECRET_ACCESS_KEY): the AWS default credential chain (environment, web identity, instance role).',
  })
  @IsOptional()
  @IsString()
  S3_ACCESS_KEY_ID?: string;

  @EnvVar({
    group: 'storage',
    secret: true,
    description: 'Secret access key belonging to S3_ACCESS_KEY_ID.',
  })
  @IsOptional()
  @IsString()
  S3_SECRET_ACCESS_KEY?: string;

  @EnvVar({
    group: 'storage',
    description:
      'Connect, request and socket-idle timeout of each S3 call in ms; a call that exceeds it fails (503), it is retried up to 3 attempts in all.',
  })
  @IntEnv()
  @IsInt()
  @Min(100)
  @Max(600_000)
  S3_TIMEOUT_MS = 30_000;

  // ---- seed variables that do not apply to LHCMS -----------------------------
  @EnvVar({
    group: 'legacy',
    description: 'bcrypt cost factor.',
    notActedOn: 'LHCMS stores no passwords (the UMS does).',
  })
  @IsOptional()
  @IntEnv()
  @IsInt()
  BCRYPT_LOG_ROUNDS?: number;

  @EnvVar({
    group: 'legacy',
    description: 'Secure flag of the session cookie.',
    notActedOn: 'LHCMS sets no cookies; it authenticates every request by bearer token.',
  })
  @IsOptional()
  @BoolEnv()
  @IsBoolean()
  SESSION_COOKIE_SECURE?: boolean;

  @EnvVar({
    group: 'legacy',
    description: 'HttpOnly flag of the session cookie.',
    notActedOn: 'LHCMS sets no cookies; it authenticates every request by bearer token.',
  })
  @IsOptional()
  @BoolEnv()
  @IsBoolean()
  SESSION_COOKIE_HTTPONLY?: boolean;

  // ---- development defaults ---------------------------------------------------
  @EnvVar({
    group: 'development',
    description:
      'Folder for the embedded PostgreSQL data and generated development keys (git-ignored). Falls back to a folder under the system temp dir when the `postgres` user cannot traverse it.',
  })
  @IsString()
  LHCMS_DATA_DIR = '.data';

  @EnvVar({ group: 'development', description: 'Port of the embedded PostgreSQL.' })
  @IntEnv()
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT = 54329;

  @EnvVar({
    group: 'development',
    description: 'Port of the bundled ums-dev started when UMS_BASE_URL is not set.',
  })
  @IntEnv()
  @IsInt()
  @Min(0)
  @Max(65535)
  UMS_DEV_PORT = 5000;

  @EnvVar({
    group: 'development',
    description: 'Seed file (users, labs, memberships) of ums-dev; default: the bundled seed.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  UMS_DEV_SEED_FILE?: string;

  // ---- derived ------------------------------------------------------------
  get isProduction(): boolean {
    return this.NODE_ENV === 'production';
  }

  /** The owner (migration) URL, falling back to the application URL. */
  get ownerDatabaseUrl(): string | undefined {
    return this.DATABASE_OWNER_URL ?? this.DATABASE_URL;
  }

  /** Where audit checkpoints go. */
  get auditCheckpointDir(): string {
    return (
      this.AUDIT_CHECKPOINT_DIR ?? `${this.LHCMS_DATA_DIR.replace(/\/+$/, '')}/audit-checkpoints`
    );
  }

  /** Folder of the filesystem attachment store. */
  get attachmentDir(): string {
    return this.ATTACHMENT_DIR ?? `${this.LHCMS_DATA_DIR.replace(/\/+$/, '')}/attachments`;
  }

  /**
   * The client-side bound on one statement: DB_STATEMENT_TIMEOUT_MS plus a
   * margin for the server's own answer (0 when statements are unbounded).
   */
  get dbQueryTimeoutMs(): number {
    return this.DB_STATEMENT_TIMEOUT_MS > 0 ? this.DB_STATEMENT_TIMEOUT_MS + 2000 : 0;
  }

  get migrateOnStart(): boolean {
    return this.DB_MIGRATE_ON_START ?? !this.isProduction;
  }
}
