import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eventually, spawnProcess, type Spawned } from '@lhcms/testing';

/** Whether the machine has the Redis programs the cluster is made of. */
export function haveRedisServer(): boolean {
  return ['redis-server', 'redis-cli'].every(
    (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0,
  );
}

/** `redis-cli` against one node; the reply as text (empty when the node does not answer). */
export function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 5000,
  });
  return (r.stdout ?? '').trim();
}

/**
 * A three-master Redis Cluster (no replicas) of the machine's redis-server,
 * for the cluster tests: each node on `ports[i]` (its cluster bus on the port
 * + 50, so every port stays in one range), its nodes.conf in a temp folder (a
 * killed node restarted on it rejoins as itself), no persistence, a short
 * node timeout (2 s) so that an outage and a recovery show quickly.
 */
export class RedisClusterUnderTest {
  private readonly nodes = new Map<number, Spawned>();

  private constructor(
    readonly ports: readonly number[],
    private readonly dir: string,
  ) {}

  /** Starts the nodes, joins them into a cluster and waits for `cluster_state:ok` on every node. */
  static async start(ports: readonly number[]): Promise<RedisClusterUnderTest> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-redis-cluster-'));
    const cluster = new RedisClusterUnderTest(ports, dir);
    try {
      for (const port of ports) cluster.startNode(port);
      for (const port of ports)
        await eventually(async () => cli(port, 'PING') === 'PONG', 10_000, `Redis node ${port}`);
      const create = spawnSync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((p) => `127.0.0.1:${p}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      if (create.status !== 0)
        throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
      await cluster.waitOk();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The URL LHCMS is given (REDIS_URL): the first node. */
  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  /** The other nodes as REDIS_CLUSTER_NODES. */
  get seeds(): string {
    return this.ports
      .slice(1)
      .map((p) => `127.0.0.1:${p}`)
      .join(',');
  }

  /** Waits until every running node reports `cluster_state:ok`. */
  async waitOk(timeoutMs = 20_000): Promise<void> {
    await eventually(
      async () =>
        [...this.nodes.keys()].every((p) => /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO'))),
      timeoutMs,
      'cluster_state:ok on every node',
    );
  }

  /** Keys matching `pattern` on each node (its own slots only): port → count. */
  keysPerNode(pattern: string): Map<number, number> {
    const counts = new Map<number, number>();
    for (const port of this.ports) {
      const out = cli(port, '--scan', '--pattern', pattern);
      counts.set(port, out ? out.split('\n').length : 0);
    }
    return counts;
  }

  /** SIGKILLs one node (a crash: no goodbye to the others). */
  async kill(port: number): Promise<void> {
    const node = this.nodes.get(port);
    if (!node) return;
    this.nodes.delete(port);
    node.child.kill('SIGKILL');
    await node.exited;
  }

  /** Starts a killed node again on its nodes.conf: it rejoins the cluster as itself. */
  async restart(port: number): Promise<void> {
    this.startNode(port);
    await eventually(async () => cli(port, 'PING') === 'PONG', 10_000, `Redis node ${port} back`);
  }

  /** Stops every node and removes the temp folder (safe to call twice, and after a failed start). */
  async stop(): Promise<void> {
    const running = [...this.nodes.values()];
    this.nodes.clear();
    for (const n of running) n.child.kill('SIGKILL');
    await Promise.all(running.map((n) => n.exited));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private startNode(port: number): void {
    const node = spawnProcess('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(this.dir, `nodes-${port}.conf`),
      '--cluster-port',
      String(port + 50),
      '--cluster-node-timeout',
      '2000',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    this.nodes.set(port, node);
  }
}
