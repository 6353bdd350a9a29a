/**
 * The attachments scenario group (issue #20): upload and download of one large
 * file and of many small ones at a concurrency, LHCMS (filesystem store,
 * production mode) against the raw file baseline (baseline-files.ts),
 * interleaved; the LHCMS process's RSS during the large transfers; get / list
 * with and without a background upload loop; and checks that the real path
 * was measured (hashes of what comes back, the stored file is ciphertext).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import type { AttachmentsConfig, ScenarioName } from './config';
import {
  digestStream,
  downloadFile,
  MIB,
  payloadSize,
  payloadStream,
  type UploadTarget,
  uploadPayload,
} from './attachments-io';
import type { UploadLoopData, UploadLoopResult } from './attachments-upload-loop';
import { type PointResult, runPoint, settle } from './load';
import { processCpuMs, processRss, rssSampler } from './machine';
import type {
  AttachmentsReport,
  BackgroundPair,
  TransferOp,
  TransferRun,
  TransferWorkload,
} from './report';
import type { Fixtures, ScenarioContext } from './scenarios';
import {
  baseEnv,
  freePort,
  type LhcmsEnv,
  PROJECT_ROOT,
  type Server,
  startLhcms,
  startServer,
  tail,
} from './servers';

export const BASELINE_FILES_MAIN = path.join(PROJECT_ROOT, 'dist/ops/bench/baseline-files.js');
const LOOP_MAIN = path.join(PROJECT_ROOT, 'dist/ops/bench/attachments-upload-loop.js');

/** Runs `n` tasks, `c` at a time. */
async function inParallel<T>(n: number, c: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, lane));
  return out;
}

class ScenarioFailure extends Error {}

export async function runAttachments(o: {
  att: AttachmentsConfig;
  env: LhcmsEnv;
  scratch: string;
  fx: Fixtures;
  adminDbUrl: string;
  /** Superuser client on the maintenance database (runPoint's PostgreSQL CPU accounting). */
  admin: Client;
  dbName: string;
  concurrencies: number[];
  duration: number;
  warmup: number;
  timeout: number;
  poolMax: number;
  ctx: () => ScenarioContext;
  log: (line: string) => void;
}): Promise<AttachmentsReport> {
  const { att, log } = o;
  const largeBytes = payloadSize(att.largeMB);
  const smallBytes = payloadSize(att.smallMB);
  const backgroundBytes = payloadSize(att.backgroundMB);
  const report: AttachmentsReport = {
    store: 'filesystem',
    largeBytes,
    smallBytes,
    smallCount: att.smallCount,
    concurrency: att.concurrency,
    backgroundConcurrency: att.backgroundConcurrency,
    backgroundBytes,
    transfers: [],
    background: [],
    checks: [],
  };
  /** Records a check (once per name while it holds: the pairs repeat them); a failure ends the scenario. */
  const check = (name: string, ok: boolean, detail: string) => {
    if (ok && report.checks.some((c) => c.name === name)) return;
    report.checks.push({ name, ok, detail });
    if (!ok) throw new ScenarioFailure(`${name}: ${detail}`);
  };

  // Every run in a case of its own (ATTACHMENT_MAX_PER_CASE, ATTACHMENT_MAX_CASE_BYTES);
  // the background loop takes the rest, round-robin.
  const runCases = att.largePairs + att.smallPairs;
  if (o.fx.ids.length < runCases + 1)
    throw new Error(`attachments: need ${runCases + 1} cases in the lab, have ${o.fx.ids.length}`);
  const caseOf = (k: number) => o.fx.ids[k];
  const backgroundCases = o.fx.ids.slice(runCases);

  const attDir = path.join(o.scratch, 'attachments');
  const baseDir = path.join(o.scratch, 'baseline-files');
  const lhcms = await startLhcms({
    env: {
      ...o.env,
      extra: { ...o.env.extra, ATTACHMENT_STORE: 'filesystem', ATTACHMENT_DIR: attDir },
    },
    logFile: path.join(o.scratch, 'lhcms-attachments.log'),
    cwd: o.scratch,
    name: 'LHCMS (attachments)',
  });
  const port = await freePort();
  const baseline: Server = await startServer({
    name: 'baseline files',
    command: process.execPath,
    args: [BASELINE_FILES_MAIN],
    env: baseEnv({
      NODE_ENV: 'production',
      BASELINE_PORT: String(port),
      BASELINE_FILE_DIR: baseDir,
    }),
    port,
    healthPath: '/health',
    logFile: path.join(o.scratch, 'baseline-files.log'),
    cwd: o.scratch,
  });
  const db = new Client({ connectionString: o.adminDbUrl });
  await db.connect();
  const headers = {
    authorization: `Bearer ${o.fx.tokens[0]}`,
    'x-lab-id': o.fx.labId,
  };
  log(
    `attachments: LHCMS on ${lhcms.url} (filesystem store ${attDir}), raw file baseline on ${baseline.url}`,
  );

  try {
    // The sources' hashes, before anything is timed (the payloads are regenerated when sent).
    const sourceSha = async (seed: string, size: number) =>
      (await digestStream(payloadStream(seed, size))).sha256;
    const largeSha = await sourceSha('large', largeBytes);
    const smallSha = await inParallel(att.smallCount, 1, (i) =>
      sourceSha(`small-${i}`, smallBytes),
    );

    const target = (kind: 'lhcms' | 'baseline', caseId: number): UploadTarget =>
      kind === 'lhcms' ? { kind, url: lhcms.url, caseId, headers } : { kind, url: baseline.url };

    /** One timed transfer of `files` files; the LHCMS server's RSS sampled for the large one. */
    const timed = async (
      server: 'lhcms' | 'baseline',
      op: TransferOp,
      workload: TransferWorkload,
      pair: number,
      files: number,
      bytes: number,
      fn: () => Promise<void>,
    ): Promise<TransferRun> => {
      const sample = server === 'lhcms' && workload === 'large';
      const pid = server === 'lhcms' ? lhcms.pid : baseline.pid;
      const before = sample ? (processRss(lhcms.pid) ?? 0) : 0;
      const rss = sample ? rssSampler(lhcms.pid, 100) : undefined;
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      await fn();
      const seconds = (performance.now() - t0) / 1000;
      const mem = rss?.stop();
      const cpu1 = processCpuMs(pid);
      const run: TransferRun = {
        server,
        op,
        workload,
        pair,
        files,
        concurrency: workload === 'large' ? 1 : att.concurrency,
        bytes,
        seconds,
        mbps: bytes / MIB / seconds,
        serverCpuMsPerMB:
          cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / (bytes / MIB) : undefined,
      };
      if (mem) {
        run.rssBeforeMB = before / MIB;
        run.rssPeakMB = mem.peak / MIB;
        run.rssGrowthMB = (mem.peak - before) / MIB;
        run.rssSamples = mem.samples;
      }
      report.transfers.push(run);
      log(
        `attachments: pair ${pair} ${server} ${workload} ${op}: ${run.mbps.toFixed(1)} MB/s (${seconds.toFixed(2)} s, server CPU ${run.serverCpuMsPerMB?.toFixed(1) ?? '?'} ms/MB)` +
          (run.rssGrowthMB !== undefined
            ? `, RSS ${run.rssBeforeMB!.toFixed(0)} → ${run.rssPeakMB!.toFixed(0)} MB (+${run.rssGrowthMB.toFixed(1)})`
            : ''),
      );
      return run;
    };

    let storedChecked = false;
    const order = (pair: number) =>
      pair % 2 === 0 ? (['baseline', 'lhcms'] as const) : (['lhcms', 'baseline'] as const);

    // ---- warm-up: both servers JIT-compile their transfer paths before any timed run ---------
    for (const server of ['baseline', 'lhcms'] as const) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: att.concurrency });
      const n = 2 * att.concurrency;
      await inParallel(n, att.concurrency, async (i) => {
        const t = target(server, backgroundCases[i % backgroundCases.length]);
        const r = await uploadPayload(agent, t, `warm-${i}`, smallBytes);
        check(`${server} warm-up uploads answered`, r.status === 201, `status ${r.status}`);
        const d = await downloadFile(agent, t, r.id);
        check(`${server} warm-up downloads answered`, d.status === 200, `status ${d.status}`);
        if (server === 'baseline') fs.rmSync(path.join(baseDir, r.id), { force: true });
      });
      agent.destroy();
    }
    log(
      `attachments: warmed up both servers (${2 * att.concurrency} × ${att.smallMB} MB up and down each, not timed)`,
    );

    // ---- one large file -------------------------------------------------------------------
    for (let pair = 0; pair < att.largePairs; pair++) {
      for (const server of order(pair)) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const t = target(server, caseOf(pair));
        let id = '';
        await timed(server, 'upload', 'large', pair, 1, largeBytes, async () => {
          const r = await uploadPayload(agent, t, 'large', largeBytes);
          check(
            `${server} large upload answered`,
            r.status === 201,
            r.status === 201 ? '201' : `status ${r.status} ${r.body}`,
          );
          id = r.id;
          if (server === 'lhcms')
            check(
              'LHCMS stored what was sent (its SHA-256 = the source)',
              r.sha256 === largeSha,
              r.sha256 === largeSha ? largeSha.slice(0, 16) : `${r.sha256} vs ${largeSha}`,
            );
        });
        await timed(server, 'download', 'large', pair, 1, largeBytes, async () => {
          const d = await downloadFile(agent, t, id);
          check(
            `${server} large download = the source`,
            d.status === 200 && d.bytes === largeBytes && d.sha256 === largeSha,
            `status ${d.status}, ${d.bytes} bytes, sha256 ${d.sha256.slice(0, 16)}… (source ${largeSha.slice(0, 16)}…)`,
          );
        });
        agent.destroy();
        if (server === 'lhcms' && !storedChecked) {
          await checkStored(db, attDir, id, largeBytes, largeSha, check);
          storedChecked = true;
        }
        if (server === 'baseline') fs.rmSync(path.join(baseDir, id), { force: true });
      }
    }

    // ---- many small files at a concurrency -------------------------------------------------
    for (let pair = 0; pair < att.smallPairs; pair++) {
      for (const server of order(pair)) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: att.concurrency });
        const t = target(server, caseOf(att.largePairs + pair));
        const ids: string[] = [];
        const total = att.smallCount * smallBytes;
        await timed(server, 'upload', 'small', pair, att.smallCount, total, async () => {
          const res = await inParallel(att.smallCount, att.concurrency, (i) =>
            uploadPayload(agent, t, `small-${i}`, smallBytes),
          );
          const bad = res.filter((r) => r.status !== 201);
          check(
            `${server} ${att.smallCount} small uploads answered`,
            bad.length === 0,
            bad.length ? `${bad.length} failed, first: ${bad[0].status} ${bad[0].body}` : 'all 201',
          );
          res.forEach((r, i) => (ids[i] = r.id));
          if (server === 'lhcms') {
            const wrong = res.filter((r, i) => r.sha256 !== smallSha[i]).length;
            check('LHCMS small files stored as sent', wrong === 0, `${wrong} SHA-256 mismatches`);
          }
        });
        await timed(server, 'download', 'small', pair, att.smallCount, total, async () => {
          const res = await inParallel(att.smallCount, att.concurrency, (i) =>
            downloadFile(agent, t, ids[i]),
          );
          const wrong = res.filter(
            (d, i) => d.status !== 200 || d.bytes !== smallBytes || d.sha256 !== smallSha[i],
          ).length;
          check(
            `${server} small downloads = the sources`,
            wrong === 0,
            wrong
              ? `${wrong} of ${att.smallCount} differ or failed`
              : `${att.smallCount} identical`,
          );
        });
        agent.destroy();
        if (server === 'baseline')
          for (const id of ids) fs.rmSync(path.join(baseDir, id), { force: true });
      }
    }
    await baseline.stop();

    // ---- get / list with and without uploads running ----------------------------------------
    const scenarios: ScenarioName[] = ['get', 'list_page1'];
    let k = 0;
    for (const scenario of scenarios)
      for (const c of o.concurrencies) {
        const point = (settled = false): Promise<PointResult> =>
          runPoint({
            settle: !settled,
            url: lhcms.url,
            server: 'lhcms',
            serverPid: lhcms.pid,
            scenario,
            connections: c,
            duration: o.duration,
            warmup: o.warmup,
            ctx: o.ctx(),
            admin: o.admin,
            dbName: o.dbName,
            timeoutSeconds: o.timeout,
            poolMax: o.poolMax,
          });
        const withUploads = async () => {
          // Settled before the uploads start: settle() would wait for an idle server forever.
          await settle(o.admin, o.dbName, lhcms.pid, Math.min(o.poolMax, c) + 5);
          const data: UploadLoopData = {
            url: lhcms.url,
            headers,
            caseIds: backgroundCases,
            concurrency: att.backgroundConcurrency,
            size: backgroundBytes,
            seedPrefix: `bg-${scenario}-${c}`,
          };
          const w = new Worker(LOOP_MAIN, { workerData: data });
          const done = new Promise<UploadLoopResult>((resolve, reject) => {
            w.once('message', (m: UploadLoopResult) => resolve(m));
            w.once('error', reject);
          });
          // Let the uploads get going before the point's warm-up starts.
          await new Promise((r) => setTimeout(r, 300));
          try {
            return { p: await point(true), loop: await stopLoop(w, done) };
          } catch (e) {
            await w.terminate();
            throw e;
          }
        };
        let without: PointResult;
        let withP: { p: PointResult; loop: UploadLoopResult };
        if (k++ % 2 === 0) {
          without = await point();
          withP = await withUploads();
        } else {
          withP = await withUploads();
          without = await point();
        }
        const pairResult: BackgroundPair = {
          scenario,
          connections: c,
          without,
          with: withP.p,
          uploads: withP.loop.uploads,
          uploadFailures: withP.loop.failures,
          uploadMBps: withP.loop.bytes / MIB / withP.loop.seconds,
        };
        report.background.push(pairResult);
        log(
          `attachments: ${scenario} c=${c}: ${without.rps.toFixed(0)} req/s without, ${withP.p.rps.toFixed(0)} with ${att.backgroundConcurrency} uploads running (${pairResult.uploads} uploads${pairResult.uploadFailures ? `, ${pairResult.uploadFailures} failed ${JSON.stringify(withP.loop.statuses)}` : ''}, ${pairResult.uploadMBps.toFixed(1)} MB/s)`,
        );
        check(
          `background uploads during ${scenario} c=${c}`,
          pairResult.uploads > 0 && pairResult.uploadFailures === 0,
          `${pairResult.uploads} uploaded, ${pairResult.uploadFailures} failed`,
        );
      }
  } catch (e) {
    report.error = e instanceof ScenarioFailure ? 'a check failed' : (e as Error).message;
    log(`attachments: FAILED: ${(e as Error).message}`);
    log(`attachments: the end of LHCMS's log:\n${tail(lhcms.logFile, 15)}`);
  } finally {
    await db.end();
    await baseline.stop();
    await lhcms.stop();
    fs.rmSync(attDir, { recursive: true, force: true });
    fs.rmSync(baseDir, { recursive: true, force: true });
  }
  return report;
}

async function stopLoop(w: Worker, done: Promise<UploadLoopResult>): Promise<UploadLoopResult> {
  w.postMessage('stop');
  const r = await done;
  await w.terminate();
  return r;
}

/**
 * The stored object of `id` is on disk where the row says, has the cipher's
 * overhead, and is not the plaintext: different SHA-256, and a 64 KiB window
 * of the plaintext appears nowhere in it.
 */
async function checkStored(
  db: Client,
  attDir: string,
  id: string,
  size: number,
  sourceSha: string,
  check: (name: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const { rows } = await db.query<{ object_key: string; size_bytes: string; stored_bytes: string }>(
    'SELECT object_key, size_bytes::text, stored_bytes::text FROM attachments WHERE id = $1',
    [id],
  );
  check('the attachment row exists', rows.length === 1, `${rows.length} rows for ${id}`);
  const file = path.join(attDir, rows[0].object_key);
  const onDisk = fs.existsSync(file) ? fs.statSync(file).size : -1;
  const stored = Number(rows[0].stored_bytes);
  check(
    'the stored file is on disk with the stored size',
    onDisk === stored && Number(rows[0].size_bytes) === size,
    `${onDisk} bytes on disk, row: stored ${stored}, size ${rows[0].size_bytes}`,
  );
  check(
    "the stored file carries the cipher's overhead",
    stored > size,
    `${stored} stored for ${size} plaintext (+${stored - size} bytes)`,
  );
  const { sha256 } = await digestStream(fs.createReadStream(file));
  check(
    'the stored file is not the plaintext (SHA-256)',
    sha256 !== sourceSha,
    sha256.slice(0, 16),
  );
  // A window of the plaintext from its middle part, searched for in the whole stored file.
  const winLen = Math.min(64 * 1024, Math.floor(size / 4));
  const winAt = Math.min(MIB, Math.floor(size / 2));
  let window = Buffer.alloc(0);
  let pos = 0;
  for await (const c of payloadStream('large', size)) {
    const b = c as Buffer;
    if (pos + b.length > winAt) {
      window = Buffer.concat([window, b.subarray(Math.max(0, winAt - pos))]);
      if (window.length >= winLen) break;
    }
    pos += b.length;
  }
  window = window.subarray(0, winLen);
  let found = false;
  let carry = Buffer.alloc(0);
  for await (const c of fs.createReadStream(file, { highWaterMark: 8 * MIB })) {
    const hay = Buffer.concat([carry, c as Buffer]);
    if (hay.indexOf(window) >= 0) {
      found = true;
      break;
    }
    carry = hay.subarray(Math.max(0, hay.length - winLen + 1));
  }
  check(
    'no plaintext in the stored file',
    !found && window.length === winLen,
    `a ${winLen}-byte window of the plaintext at ${winAt} ${found ? 'IS' : 'is not'} in the ${stored}-byte stored file`,
  );
}
