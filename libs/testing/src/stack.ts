import { randomInt } from 'node:crypto';
import type { Env, RawEnv } from '@lhcms/config';
import {
  DEFAULT_SEED_FILE,
  loadSeed,
  type Seed,
  type UmsDevServer,
  type UmsShape,
} from '@lhcms/ums-dev';
import { request, type HttpResponse, type RequestOptions } from './http';
import { loginSeedUser, startTestApi, startTestUms, type TestApi } from './servers';
import { testEnv } from './test-env';

export interface TestLabs {
  /** The default seed's lab 1 ("Test Lab": admin, tech, viewer; multi is a viewer). */
  lab1: number;
  /** Lab 2 ("Second Lab": lab2admin; multi is a member). */
  lab2: number;
  /** Lab 3 (inactive). */
  lab3: number;
}

/**
 * The default seed with fresh random lab ids, so that test files running in
 * parallel on the one test database never see each other's cases.
 */
export function isolatedSeed(): { seed: Seed; labs: TestLabs } {
  const base = loadSeed(DEFAULT_SEED_FILE);
  const offset = randomInt(1000, 1_000_000_000);
  const map = (id: number) => id + offset;
  const seed: Seed = {
    labs: base.labs.map((l) => ({ ...l, id: map(l.id) })),
    users: base.users.map((u) => ({
      ...u,
      memberships: (u.memberships ?? []).map((m) => ({ ...m, lab_id: map(m.lab_id) })),
    })),
  };
  return { seed, labs: { lab1: map(1), lab2: map(2), lab3: map(3) } };
}

export interface Stack {
  api: TestApi;
  seed: { seed: Seed; labs: TestLabs };
  ums: UmsDevServer;
  env: Env;
  labs: TestLabs;
  token(username: string): Promise<string>;
  /** A request to the API as the given seed user (token cached per user). */
  as(username: string, path: string, o?: RequestOptions): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface StackOptions {
  shape?: UmsShape;
  env?: RawEnv;
  umsApiKey?: string;
  /** Reuse another stack's seed (same lab ids), e.g. to restart the API on the same data. */
  seed?: { seed: Seed; labs: TestLabs };
}

/** ums-dev + the API on the run's test database, each on a free port, with an isolated seed. */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const { seed, labs } = o.seed ?? isolatedSeed();
  const ums = await startTestUms({ seed, shape: o.shape, apiKey: o.umsApiKey });
  const env = testEnv({ UMS_BASE_URL: ums.url, UMS_API_KEY: o.umsApiKey, ...(o.env ?? {}) });
  const api = await startTestApi(env);
  const tokens = new Map<string, string>();
  const token = async (u: string) => {
    let t = tokens.get(u);
    if (!t) {
      t = await loginSeedUser(ums.url, u);
      tokens.set(u, t);
    }
    return t;
  };
  return {
    api,
    seed: { seed, labs },
    ums,
    env,
    labs,
    token,
    as: async (u, path, opts = {}) => request(api.url, path, { ...opts, token: await token(u) }),
    close: async () => {
      await api.close();
      await ums.close();
    },
  };
}
