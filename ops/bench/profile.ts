/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the CPU went:
 * self time by layer (Nest, Fastify/HTTP, logging, TypeORM, pg, token
 * verification, cache, JSON, app code, GC), the top functions, and the
 * inclusive time of the hot-path functions named in issue #9.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[]; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  durationMs: number;
  /** Non-idle sampled time. */
  busyMs: number;
  requests?: number;
  /** Busy CPU µs per request (when the request count is known). */
  busyUsPerRequest?: number;
  layers: Array<{ layer: string; selfMs: number; pct: number; usPerRequest?: number }>;
  packages: Array<{ name: string; selfMs: number; pct: number }>;
  topFunctions: Array<{ fn: string; where: string; selfMs: number; pct: number }>;
  probes: Array<{ probe: string; inclusiveMs: number; pct: number; usPerRequest?: number }>;
}

/** Where a frame lives: a package name, `node:<module>`, `lhcms:<path>`, or a V8 pseudo-frame. */
export function originOf(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName.startsWith('(')) return f.functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = /\/dist\/((?:apps|libs|ops)\/.*)$/.exec(url);
  if (dist) return `lhcms:${dist[1]}`;
  return url;
}

const LAYERS: Array<[string, (origin: string, f: CallFrame) => boolean]> = [
  ['GC', (o) => o === '(garbage collector)'],
  ['idle', (o) => o === '(idle)'],
  ['V8/native (program)', (o) => o === '(program)' || o === '(root)'],
  [
    'JSON stringify/parse',
    (o, f) =>
      o === '(native)' && /^(stringify|parse|JSONStringify|JSONParse)$/.test(f.functionName),
  ],
  [
    'request context (nestjs-cls, AsyncLocalStorage)',
    (o) => o === 'nestjs-cls' || /^node:(internal\/)?async_(hooks|local_storage)/.test(o),
  ],
  [
    'logging (pino)',
    (o) =>
      /^(pino|pino-http|nestjs-pino|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/.*|quick-format-unescaped|on-exit-leak-free|thread-stream|fast-safe-stringify|safe-stable-stringify)$/.test(
        o,
      ),
  ],
  [
    'token verification (jose, crypto)',
    (o) => o === 'jose' || o.startsWith('node:internal/crypto') || o === 'node:crypto',
  ],
  [
    'cache (cache-manager, keyv, redis client)',
    (o) =>
      /^(cache-manager|keyv|@keyv\/.*|@redis\/.*|redis|cluster-key-slot|hookified|@cacheable\/.*|cacheable)$/.test(
        o,
      ),
  ],
  ['TypeORM', (o) => o === 'typeorm'],
  [
    'pg driver',
    (o) =>
      /^(pg|pg-protocol|pg-pool|pg-types|pg-int8|postgres-array|postgres-bytea|postgres-date|postgres-interval|pgpass|pg-connection-string|split2)$/.test(
        o,
      ),
  ],
  [
    'Nest (core, guards, pipes, interceptors, rxjs)',
    (o) =>
      o.startsWith('@nestjs/') ||
      /^(rxjs|tslib|reflect-metadata|iterare|uid|path-to-regexp|class-transformer|class-validator)$/.test(
        o,
      ),
  ],
  [
    'Fastify + node HTTP/net',
    (o) =>
      /^(fastify|find-my-way|avvio|light-my-request|fast-json-stringify|fast-querystring|fast-uri|secure-json-parse|abstract-logging|rfdc|toad-cache|@fastify\/.*|process-warning|proxy-addr|content-type|ret)$/.test(
        o,
      ) ||
      /^node:(_http|http|net|internal\/(http|streams|stream_base_commons|net|js_stream_socket|timers|url|querystring|buffer|util)|events|internal\/event_target|stream|url|querystring|buffer)/.test(
        o,
      ),
  ],
  [
    'ajv (body validation)',
    (o) => o === 'ajv' || o === 'fast-deep-equal' || o === 'json-schema-traverse',
  ],
  ['LHCMS code', (o) => o.startsWith('lhcms:')],
  ['node core (other)', (o) => o.startsWith('node:')],
  ['V8 builtins / native (no JS caller)', (o) => o === '(native)'],
];

export function layerOf(origin: string, f: CallFrame): string {
  for (const [name, test] of LAYERS) if (test(origin, f)) return name;
  return 'other packages';
}

/** Hot-path functions whose inclusive time is reported (matched on any frame of a sample's stack). */
export const PROBES: Array<[string, (o: string, f: CallFrame) => boolean]> = [
  // Async functions: only their synchronous slices are on the stack (continuations are not).
  [
    'AuthGuard.canActivate (sync part)',
    (o, f) => o.endsWith('ums-gateway/auth.guard.js') && f.functionName.endsWith('canActivate'),
  ],
  [
    'TokenVerifier.verify (sync part)',
    (o, f) => o.endsWith('ums-gateway/token-verifier.js') && f.functionName.endsWith('verify'),
  ],
  [
    'PrincipalCache.get (sync part)',
    (o, f) => o.endsWith('ums-gateway/principal-cache.js') && f.functionName.endsWith('get'),
  ],
  [
    'TenantDb.withLab (sync part)',
    (o, f) => o.endsWith('database/src/tenant-db.js') && f.functionName.endsWith('withLab'),
  ],
  [
    'fastify reply serialize (JSON.stringify of the body)',
    (o, f) => o === 'fastify' && f.functionName === 'serialize',
  ],
  ['toCaseResponse (row → wire object)', (_o, f) => f.functionName === 'toCaseResponse'],
  ['TypeORM (any frame)', (o) => o === 'typeorm'],
  [
    'pg driver incl. row parsing, JSON.parse of jsonb (any frame)',
    (o) => /^(pg|pg-protocol|pg-pool|pg-types|postgres-date)$/.test(o),
  ],
  [
    'logging: pino, pino-http, redaction (any frame)',
    (o) => /^(pino|pino-http|nestjs-pino|sonic-boom|fast-redact|@pinojs\/.*)$/.test(o),
  ],
  [
    'token verification: jose + node crypto (any frame)',
    (o) => o === 'jose' || o.startsWith('node:internal/crypto'),
  ],
  [
    'cache: cache-manager/keyv/redis client (any frame)',
    (o) => /^(cache-manager|keyv|@keyv\/.*|@redis\/.*|hookified|cacheable|@cacheable\/.*)$/.test(o),
  ],
  ['request context: nestjs-cls (any frame)', (o) => o === 'nestjs-cls'],
  ['Nest (any frame)', (o) => o.startsWith('@nestjs/') || o === 'rxjs'],
  ['ajv body validation (any frame)', (o) => o === 'ajv'],
];

export function summariseProfile(p: CpuProfile, requests?: number, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const origin = new Map<number, string>();
  for (const n of p.nodes) origin.set(n.id, originOf(n.callFrame));

  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, dt));
  }

  let totalUs = 0;
  let idleUs = 0;
  const layerUs = new Map<string, number>();
  const pkgUs = new Map<string, number>();
  const fnUs = new Map<string, { fn: string; where: string; us: number }>();
  /**
   * Native frames (socket and file writes, builtins such as JSON.stringify) and
   * node core frames count for the package or app code that called them (a
   * pino write is logging, a reply write is HTTP); with no such caller, their own layer.
   */
  const isLib = (o: string) => o !== '(native)' && !o.startsWith('(') && !o.startsWith('node:');
  const layerOfNode = (id: number): string => {
    const n = byId.get(id)!;
    const o = origin.get(id)!;
    if (isLib(o) || (o.startsWith('(') && o !== '(native)')) return layerOf(o, n.callFrame);
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const uo = origin.get(up)!;
      if (isLib(uo)) return layerOf(uo, byId.get(up)!.callFrame);
    }
    return layerOf(o, n.callFrame);
  };
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const o = origin.get(id)!;
    totalUs += us;
    if (o === '(idle)') idleUs += us;
    const layer = layerOfNode(id);
    layerUs.set(layer, (layerUs.get(layer) ?? 0) + us);
    pkgUs.set(o, (pkgUs.get(o) ?? 0) + us);
    const key = `${n.callFrame.functionName}|${n.callFrame.url}|${n.callFrame.lineNumber}`;
    const e = fnUs.get(key) ?? {
      fn: n.callFrame.functionName || '(anonymous)',
      where: `${o.startsWith('lhcms:') || o.startsWith('node:') ? o : o + (n.callFrame.url ? ':' + n.callFrame.url.split('/').slice(-1)[0] : '')}:${n.callFrame.lineNumber + 1}`,
      us: 0,
    };
    e.us += us;
    fnUs.set(key, e);
  }

  // Inclusive time of the probes: a sample counts once per probe if any frame of its stack matches.
  const probeUs = new Map<string, number>();
  const stackHits = new Map<number, Set<string>>();
  const hitsOf = (id: number): Set<string> => {
    const cached = stackHits.get(id);
    if (cached) return cached;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const s = new Set(up !== undefined ? hitsOf(up) : []);
    for (const [label, test] of PROBES) if (test(origin.get(id)!, n.callFrame)) s.add(label);
    stackHits.set(id, s);
    return s;
  };
  for (const [id, us] of selfUs)
    for (const label of hitsOf(id)) probeUs.set(label, (probeUs.get(label) ?? 0) + us);

  const busyUs = totalUs - idleUs;
  const pct = (us: number) => (busyUs > 0 ? (us / busyUs) * 100 : 0);
  const perReq = (us: number) => (requests ? us / requests : undefined);
  return {
    durationMs: (p.endTime - p.startTime) / 1000,
    busyMs: busyUs / 1000,
    requests,
    busyUsPerRequest: perReq(busyUs),
    layers: [...layerUs]
      .filter(([l]) => l !== 'idle')
      .map(([layer, us]) => ({ layer, selfMs: us / 1000, pct: pct(us), usPerRequest: perReq(us) }))
      .sort((a, b) => b.selfMs - a.selfMs),
    packages: [...pkgUs]
      .filter(([o]) => o !== '(idle)')
      .map(([name, us]) => ({ name, selfMs: us / 1000, pct: pct(us) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
    topFunctions: [...fnUs.values()]
      .filter((e) => e.fn !== '(idle)')
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, pct: pct(e.us) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top),
    probes: PROBES.map(([label]) => {
      const us = probeUs.get(label) ?? 0;
      return { probe: label, inclusiveMs: us / 1000, pct: pct(us), usPerRequest: perReq(us) };
    }),
  };
}

/**
 * Keeps the samples taken between `fromUs` and `toUs` (V8's profile clock is
 * the monotonic clock that process.hrtime() reads too, in µs), so a
 * --cpu-prof profile of a whole server life can be cut to the load window.
 * Undefined when the window does not overlap the profile (another clock).
 */
export function trimProfile(p: CpuProfile, fromUs: number, toUs: number): CpuProfile | undefined {
  if (toUs <= p.startTime || fromUs >= p.endTime) return undefined;
  const samples: number[] = [];
  const deltas: number[] = [];
  let t = p.startTime;
  let last = Math.max(fromUs, p.startTime);
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    samples.push(p.samples[i]);
    deltas.push(t - last);
    last = t;
  }
  return {
    ...p,
    startTime: Math.max(fromUs, p.startTime),
    endTime: Math.min(toUs, p.endTime),
    samples,
    timeDeltas: deltas,
  };
}
