import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, spawnProcess, type Spawned } from './process';

/** A real S3-compatible server (SeaweedFS `weed server -s3`) on 127.0.0.1, for store tests. */
export interface TestS3Server {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the server (kill, wait); its data stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections are accepted by the kernel but never answered. */
  freeze(): void;
  /** Lets a frozen process go on (SIGCONT). */
  thaw(): void;
  /** Stops it and removes its data. */
  close(): Promise<void>;
  /** What the server printed (for a failing test's message). */
  output(): string;
}

const PORT_FLAGS = [
  'master.port',
  'master.port.grpc',
  'volume.port',
  'volume.port.grpc',
  'filer.port',
  'filer.port.grpc',
  's3.port',
  's3.port.grpc',
] as const;

/**
 * Starts `weed server -s3` (`bin`: the weed binary) on free ports of 127.0.0.1,
 * with its data in a temp folder and one static S3 identity (so requests are
 * really signed and checked), waits until it stores objects, and creates
 * `bucket`. Nothing leaves the machine: telemetry is off.
 */
export async function startS3Server(
  bin: string,
  options: { bucket?: string; startTimeoutMs?: number } = {},
): Promise<TestS3Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-weed-'));
  const bucket = options.bucket ?? 'lhcms-test';
  const accessKeyId = `lhcms${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const s3Config = path.join(dir, 's3.json');
  fs.writeFileSync(
    s3Config,
    JSON.stringify({
      identities: [
        {
          name: 'lhcms',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
    { mode: 0o600 },
  );
  const ports: Record<string, number> = {};
  for (const f of PORT_FLAGS) ports[f] = await freePort();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  const args = [
    'server',
    '-s3',
    '-filer',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-dir=${data}`,
    '-volume.max=8',
    '-master.volumeSizeLimitMB=512',
    '-master.telemetry=false',
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-s3.iam=false',
    `-s3.config=${s3Config}`,
    `-filer.localSocket=${path.join(dir, 'filer.sock')}`,
    `-s3.localSocket=${path.join(dir, 's3.sock')}`,
    ...PORT_FLAGS.map((f) => `-${f}=${ports[f]}`),
  ];
  const endpoint = `http://127.0.0.1:${ports['s3.port']}`;
  const region = 'us-east-1';
  let proc: Spawned | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    proc = spawnProcess(bin, args, { cwd: dir });
    const client = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 5000 },
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
    let last: unknown;
    try {
      for (;;) {
        const exited = await Promise.race([
          proc.exited.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 0)),
        ]);
        if (exited) throw new Error(`weed exited while starting:\n${proc.output().slice(-4000)}`);
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: unknown) => {
            const name = (e as { name?: string }).name;
            if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
          });
          // The bucket answers; wait until a volume takes writes too.
          const probe = `.probe-${randomBytes(4).toString('hex')}`;
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: 'ok' }));
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
          return;
        } catch (e) {
          last = e;
        }
        if (Date.now() > deadline)
          throw new Error(
            `weed did not serve S3 within the time allowed (${String((last as Error)?.name)}):\n${proc.output().slice(-4000)}`,
          );
        await new Promise((r) => setTimeout(r, 300));
      }
    } catch (e) {
      await stop();
      throw e;
    } finally {
      client.destroy();
    }
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p) return;
    log += p.output();
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await p.exited;
      clearTimeout(timer);
    }
  };

  // weed's own start-up can lose a race on a busy machine (its filer dials the master's gRPC
  // socket before it exists, and the process exits): a fresh start then succeeds. Only an exit
  // during the first start is retried, twice, from an empty data folder.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (attempt >= 3 || !String((e as Error).message).startsWith('weed exited while starting'))
        throw e;
      fs.rmSync(data, { recursive: true, force: true });
      fs.mkdirSync(data);
    }
  }
  return {
    endpoint,
    region,
    bucket,
    accessKeyId,
    secretAccessKey,
    stop,
    start,
    freeze: () => proc?.child.kill('SIGSTOP'),
    thaw: () => proc?.child.kill('SIGCONT'),
    close: async () => {
      proc?.child.kill('SIGCONT');
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    output: () => log + (proc?.output() ?? ''),
  };
}
