import * as net from 'node:net';

export type ProxyMode = 'forward' | 'paused' | 'refusing';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server (PostgreSQL, Redis, ...)
 * that a test can cut: `pause()` stops moving bytes both ways on every
 * connection, old and new, like a firewall dropping packets (TCP keeps the
 * bytes; `forward()` lets them flow again); `refuse()` closes the listener and
 * every connection (connection refused / reset); `delay(ms)` slows every
 * chunk; `forward()` restores.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private mode: ProxyMode = 'forward';
  private latencyMs = 0;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const p = new TcpProxy(port, target);
    await p.listen();
    return p;
  }

  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  /** Delays every chunk, both ways, by `ms` (a slow network or a slow server). */
  delay(ms: number): void {
    this.latencyMs = ms;
  }

  pause(): void {
    this.mode = 'paused';
    for (const [a, b] of this.pairs) {
      a.pause();
      b.pause();
    }
  }

  async refuse(): Promise<void> {
    this.mode = 'refusing';
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    await this.stopListening();
  }

  async forward(): Promise<void> {
    const was = this.mode;
    this.mode = 'forward';
    this.latencyMs = 0;
    if (was === 'refusing') await this.listen();
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private listen(): Promise<void> {
    const server = net.createServer((client) => this.onConnection(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        (this as { port: number }).port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  private stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private onConnection(client: net.Socket): void {
    this.accepted++;
    const upstream = net.connect(this.target.port, this.target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    // A side that closes takes the other down after the bytes still delayed (e.g. an error message).
    const dropLater = () => (this.latencyMs > 0 ? setTimeout(drop, this.latencyMs + 5) : drop());
    client.on('error', drop).on('close', dropLater);
    upstream.on('error', drop).on('close', dropLater);
    // No pipe(): a pipe resumes its source on 'drain', undoing pause().
    const relay = (to: net.Socket) => (d: Buffer) => {
      if (this.latencyMs > 0) setTimeout(() => to.write(d), this.latencyMs);
      else to.write(d);
    };
    client.on('data', relay(upstream));
    upstream.on('data', relay(client));
    if (this.mode === 'paused') {
      client.pause();
      upstream.pause();
    }
  }
}
