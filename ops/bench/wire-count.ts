import * as net from 'node:net';

/**
 * Counting TCP proxies for the round-trip phase: LHCMS talks to PostgreSQL
 * and Redis through them, and they count what the client side sends. Only
 * used in that phase (the proxy hop would distort throughput numbers).
 */

export interface PgCounts {
  /** Simple-protocol queries ('Q'). */
  simple: number;
  /** Extended-protocol Sync messages ('S'): one per parameterised statement with node-postgres. */
  syncs: number;
  /** Parse messages ('P'): statements parsed (unnamed or named). */
  parses: number;
  /** Bind messages ('B'): statements executed with the extended protocol. */
  binds: number;
}

export function pgRoundTrips(c: PgCounts): number {
  // Each simple query and each Sync waits for ReadyForQuery: one round trip each
  // (node-postgres never pipelines).
  return c.simple + c.syncs;
}

/**
 * Parses the frontend side of the PostgreSQL protocol: one untyped startup
 * packet (after an optional SSL/GSS request), then typed messages
 * (1 byte type, int32 length including itself, body).
 */
export class PgFrontendParser {
  readonly counts: PgCounts = { simple: 0, syncs: 0, parses: 0, binds: 0 };
  statements: string[] | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private started = false;

  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.started) {
        if (this.buf.length < 8) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        const code = this.buf.readInt32BE(4);
        // SSLRequest / GSSENCRequest are followed by the real startup packet.
        if (code !== 80877103 && code !== 80877104) this.started = true;
        this.buf = this.buf.subarray(len);
        continue;
      }
      if (this.buf.length < 5) return;
      const type = String.fromCharCode(this.buf[0]);
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      const body = this.buf.subarray(5, 1 + len);
      switch (type) {
        case 'Q':
          this.counts.simple++;
          this.statements?.push(body.subarray(0, body.indexOf(0)).toString('utf8'));
          break;
        case 'P': {
          this.counts.parses++;
          const nameEnd = body.indexOf(0);
          const text = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString('utf8');
          this.statements?.push(text);
          break;
        }
        case 'B':
          this.counts.binds++;
          break;
        case 'S':
          this.counts.syncs++;
          break;
        default:
          break;
      }
      this.buf = this.buf.subarray(1 + len);
    }
  }
}

/**
 * Counts RESP commands (arrays of bulk strings, or inline commands) sent by
 * a Redis client, by command name.
 */
export class RespParser {
  readonly commands = new Map<string, number>();
  private buf: Buffer = Buffer.alloc(0);

  get total(): number {
    let n = 0;
    for (const v of this.commands.values()) n += v;
    return n;
  }

  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const consumed = this.one();
      if (consumed === 0) return;
      this.buf = this.buf.subarray(consumed);
    }
  }

  private count(name: string): void {
    const n = name.toUpperCase();
    this.commands.set(n, (this.commands.get(n) ?? 0) + 1);
  }

  /** Bytes of one complete command at the start of the buffer, 0 when incomplete. */
  private one(): number {
    const b = this.buf;
    if (b.length === 0) return 0;
    const eol = b.indexOf('\r\n');
    if (eol < 0) return 0;
    if (b[0] !== 0x2a /* '*' */) {
      this.count(b.subarray(0, eol).toString('utf8').trim().split(/\s+/)[0] ?? '');
      return eol + 2;
    }
    const n = Number(b.subarray(1, eol).toString('ascii'));
    let pos = eol + 2;
    let name = '';
    for (let i = 0; i < n; i++) {
      const e = b.indexOf('\r\n', pos);
      if (e < 0) return 0;
      const len = Number(b.subarray(pos + 1, e).toString('ascii'));
      const start = e + 2;
      if (b.length < start + len + 2) return 0;
      if (i === 0) name = b.subarray(start, start + len).toString('utf8');
      pos = start + len + 2;
    }
    this.count(name);
    return pos;
  }
}

export interface CountingProxy {
  port: number;
  close(): Promise<void>;
}

/** A TCP proxy to host:port that feeds every client→server byte to `onClientData`. */
export function countingProxy(
  host: string,
  port: number,
  newParser: () => { feed(b: Buffer): void },
): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const parser = newParser();
    const upstream = net.connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d: Buffer) => {
      parser.feed(d);
      upstream.write(d);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/** The PostgreSQL proxy with one shared tally over all connections. */
export async function pgCountingProxy(host: string, port: number) {
  const total: PgCounts = { simple: 0, syncs: 0, parses: 0, binds: 0 };
  const state: { statements: string[] | undefined } = { statements: undefined };
  const proxy = await countingProxy(host, port, () => {
    const p = new PgFrontendParser();
    let last = { ...p.counts };
    return {
      feed(b: Buffer) {
        p.statements = state.statements;
        p.feed(b);
        for (const k of Object.keys(total) as Array<keyof PgCounts>)
          total[k] += p.counts[k] - last[k];
        last = { ...p.counts };
      },
    };
  });
  return {
    ...proxy,
    snapshot: (): PgCounts => ({ ...total }),
    /** Collect statement texts from now on (undefined stops). */
    capture(list: string[] | undefined) {
      state.statements = list;
    },
  };
}

export async function redisCountingProxy(host: string, port: number) {
  const total = new Map<string, number>();
  const proxy = await countingProxy(host, port, () => {
    const p = new RespParser();
    let last = new Map<string, number>();
    return {
      feed(b: Buffer) {
        p.feed(b);
        for (const [k, v] of p.commands) total.set(k, (total.get(k) ?? 0) + v - (last.get(k) ?? 0));
        last = new Map(p.commands);
      },
    };
  });
  return {
    ...proxy,
    snapshot: (): Map<string, number> => new Map(total),
  };
}

export function diffCounts(a: PgCounts, b: PgCounts): PgCounts {
  return {
    simple: b.simple - a.simple,
    syncs: b.syncs - a.syncs,
    parses: b.parses - a.parses,
    binds: b.binds - a.binds,
  };
}

export function diffMaps(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d) out[k] = d;
  }
  return out;
}
