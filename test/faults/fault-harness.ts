import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UmsDevServer } from '@lhcms/ums-dev';
import {
  cleanEnv,
  eventually,
  freePort,
  isolatedSeed,
  loginSeedUser,
  request,
  spawnNode,
  type Spawned,
  startTestUms,
  TEST_JWT_SECRET,
  TEST_LOCAL_KEK,
  TEST_SECRET_KEY,
  type TestLabs,
} from '@lhcms/testing';

/** The statuses the API documents for a dependency fault (besides success). */
export const FAULT_STATUSES = new Set([503, 429]);

/** The API as production runs it: its own process (`node dist/apps/api/src/main.js`). */
export interface ApiProcess {
  url: string;
  proc: Spawned;
  labs: TestLabs;
  ums: UmsDevServer;
  checkpoints: string;
  /** The environment it runs with (for the CLI). */
  env: Record<string, string>;
  token(user: string): Promise<string>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startApiProcess(o: {
  databaseUrl: string;
  ownerUrl: string;
  env?: Record<string, string>;
}): Promise<ApiProcess> {
  const { seed, labs } = isolatedSeed();
  const ums = await startTestUms({ seed });
  const port = await freePort();
  const checkpoints = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-faults-cp-'));
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: o.databaseUrl,
    DATABASE_OWNER_URL: o.ownerUrl,
    UMS_BASE_URL: ums.url,
    SECRET_KEY: TEST_SECRET_KEY,
    JWT_SECRET_KEY: TEST_JWT_SECRET,
    ENCRYPTION_LOCAL_KEK: TEST_LOCAL_KEK,
    DB_MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '1000000',
    AUDIT_LOG_DESTINATION: '/dev/null',
    AUDIT_CHECKPOINT_DIR: checkpoints,
    ...(o.env ?? {}),
  };
  const proc = spawnNode('dist/apps/api/src/main.js', cleanEnv(env));
  const url = `http://127.0.0.1:${port}`;
  // Listening (the database may still be down): liveness answers.
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) {
        throw new Error(`the API exited at start:\n${proc.output()}`);
      }
      const live = await fetch(`${url}/health/live`).catch(() => undefined);
      return live?.status === 200;
    },
    30_000,
    'the API to listen',
  ).catch((err: Error) => {
    if (proc.child.exitCode !== null) throw err;
    throw new Error(`the API did not start: ${err.message}\n${proc.output()}`);
  });
  const tokens = new Map<string, string>();
  return {
    url,
    proc,
    labs,
    ums,
    checkpoints,
    env,
    token: async (u) => {
      let t = tokens.get(u);
      if (!t) tokens.set(u, (t = await loginSeedUser(ums.url, u)));
      return t;
    },
    stop: async () => {
      if (proc.child.exitCode === null) proc.child.kill('SIGTERM');
      const exit = await proc.exited;
      await ums.close();
      fs.rmSync(checkpoints, { recursive: true, force: true });
      return exit;
    },
  };
}

export interface Outcome {
  op: string;
  status: number;
  ms: number;
  requestId: string | null;
  retryAfter: string | null;
  body: any;
}

/** What a bounded load saw: every answer, and the writes it was told succeeded. */
export class LoadLog {
  readonly outcomes: Outcome[] = [];
  /** Case id → the last version the API acknowledged, with its status. */
  readonly acked = new Map<string, { version: number; status: string; case_number: string }>();
  /** Network-level failures (reset, refused): must never happen on the API side. */
  readonly transportErrors: string[] = [];

  statuses(): Map<number, number> {
    const m = new Map<number, number>();
    for (const o of this.outcomes) m.set(o.status, (m.get(o.status) ?? 0) + 1);
    return m;
  }

  /** Answers that are neither success nor a documented fault status. */
  undocumented(): Outcome[] {
    return this.outcomes.filter((o) => !(o.status < 300 || FAULT_STATUSES.has(o.status)));
  }

  since(i: number): Outcome[] {
    return this.outcomes.slice(i);
  }
}

/**
 * `clients` loops, each on its own cases, of a mixed load (create, get, list,
 * status change) until `stop()`; bounded by `maxMs` in any case.
 */
export function runLoad(
  api: ApiProcess,
  o: { clients: number; maxMs: number; user?: string; pauseMs?: number },
): { log: LoadLog; stop(): Promise<void> } {
  const log = new LoadLog();
  let stopping = false;
  const deadline = Date.now() + o.maxMs;
  const call = async (op: string, pathname: string, init: { method?: string; body?: unknown }) => {
    const started = performance.now();
    try {
      const res = await request(api.url, pathname, {
        method: init.method,
        body: init.body,
        token: await api.token(o.user ?? 'admin'),
      });
      const out: Outcome = {
        op,
        status: res.status,
        ms: performance.now() - started,
        requestId: res.headers.get('x-request-id'),
        retryAfter: res.headers.get('retry-after'),
        body: res.body,
      };
      log.outcomes.push(out);
      return out;
    } catch (err) {
      const cause = (err as Error).cause as { code?: string } | undefined;
      log.transportErrors.push(`${op}: ${cause?.code ?? (err as Error).message}`);
      return undefined;
    }
  };
  const client = async (n: number) => {
    const mine: string[] = [];
    for (let i = 0; !stopping && Date.now() < deadline; i++) {
      const k = i % 4;
      if (k === 0 || mine.length === 0) {
        const r = await call('create', '/api/v1/cases/', {
          method: 'POST',
          body: {
            doctor_id: `fault-doc-${n}`,
            product_id: 'p1',
            case_type: 'other',
            patient_info: { name: `Fault Patient ${n}-${i}`, patient_id: `FP-${n}-${i}` },
          },
        });
        if (r?.status === 201) {
          mine.push(String(r.body.id));
          log.acked.set(String(r.body.id), {
            version: r.body.version,
            status: r.body.status,
            case_number: r.body.case_number,
          });
        }
      } else if (k === 1) {
        await call('get', `/api/v1/cases/${mine[i % mine.length]}`, {});
      } else if (k === 2) {
        await call('list', '/api/v1/cases/?per_page=10', {});
      } else {
        const id = mine[i % mine.length];
        const before = log.acked.get(id);
        const to = before?.status === 'pending' ? 'in_progress' : 'completed';
        if (before?.status === 'completed') continue;
        const r = await call('status', `/api/v1/cases/${id}/status`, {
          method: 'PATCH',
          body: { status: to },
        });
        if (r?.status === 200) {
          log.acked.set(id, {
            version: r.body.version,
            status: r.body.status,
            case_number: r.body.case_number,
          });
        }
      }
      if (o.pauseMs) await sleep(o.pauseMs);
    }
  };
  const running = Promise.all(Array.from({ length: o.clients }, (_, n) => client(n)));
  return {
    log,
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

/** GET a probe: its status only (never throws). */
export async function probe(api: ApiProcess, pathname: string): Promise<number> {
  const res = await fetch(`${api.url}${pathname}`).catch(() => undefined);
  await res?.text().catch(() => undefined);
  return res?.status ?? 0;
}
