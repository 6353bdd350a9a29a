import { type CpuProfile, originOf, summariseProfile, trimProfile } from './profile';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

// root → fastify handler → (native) writev ; root → jose verify ; root → (idle) ; root → (garbage collector)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 4, 6, 7] },
    {
      id: 2,
      callFrame: frame('serialize', 'file:///app/node_modules/fastify/lib/reply.js'),
      children: [3],
    },
    { id: 3, callFrame: frame('writev', ''), children: [] },
    {
      id: 4,
      callFrame: frame('verify', 'file:///app/node_modules/jose/dist/node/jws.js'),
      children: [5],
    },
    { id: 5, callFrame: frame('jobPromise', 'node:internal/crypto/util'), children: [] },
    { id: 6, callFrame: frame('(idle)', ''), children: [] },
    { id: 7, callFrame: frame('(garbage collector)', ''), children: [] },
  ],
  startTime: 1_000_000,
  endTime: 1_000_000 + 10_000,
  // 10 samples of 1 ms each
  samples: [2, 3, 3, 4, 5, 5, 5, 6, 6, 7],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('cpu profile summary', () => {
  it('names where a frame lives', () => {
    expect(originOf(frame('x', 'file:///a/node_modules/@nestjs/core/router/x.js'))).toBe(
      '@nestjs/core',
    );
    expect(originOf(frame('x', 'file:///a/node_modules/pg/lib/client.js'))).toBe('pg');
    expect(originOf(frame('x', 'file:///w/dist/apps/api/src/cases/cases.service.js'))).toBe(
      'lhcms:apps/api/src/cases/cases.service.js',
    );
    expect(originOf(frame('x', 'node:net'))).toBe('node:net');
    expect(originOf(frame('stringify', ''))).toBe('(native)');
  });

  it('charges native and node-core frames to their calling package, and leaves idle out', () => {
    const s = summariseProfile(profile, 4);
    const layer = Object.fromEntries(s.layers.map((l) => [l.layer, l.selfMs]));
    expect(s.busyMs).toBe(8);
    expect(layer['Fastify + node HTTP/net']).toBe(3); // serialize + 2 × writev
    expect(layer['token verification (jose, crypto)']).toBe(4); // verify + 3 × jobPromise
    expect(layer.GC).toBe(1);
    expect(layer.idle).toBeUndefined();
    expect(s.busyUsPerRequest).toBe(2000);
    const probe = Object.fromEntries(s.probes.map((p) => [p.probe, p.inclusiveMs]));
    expect(probe['fastify reply serialize (JSON.stringify of the body)']).toBe(3);
    expect(probe['token verification: jose + node crypto (any frame)']).toBe(4);
  });

  it('trims a profile to a time window of the monotonic clock', () => {
    const t = trimProfile(profile, 1_000_000 + 3_500, 1_000_000 + 7_500)!;
    expect(t.samples).toEqual([4, 5, 5, 5]);
    expect(trimProfile(profile, 0, 10)).toBeUndefined();
  });
});
