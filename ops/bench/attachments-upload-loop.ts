/**
 * The background upload loop of the attachments scenario, in a worker thread
 * (its own event loop: the load generator's timings in the main thread are not
 * disturbed by the uploads' bytes). `concurrency` uploads at a time, one after
 * another, round-robin over `caseIds`, until the parent posts 'stop'; then it
 * posts {uploads, bytes, failures, seconds}.
 */
import * as http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { uploadPayload } from './attachments-io';

export interface UploadLoopData {
  url: string;
  headers: Record<string, string>;
  caseIds: number[];
  concurrency: number;
  size: number;
  seedPrefix: string;
}

export interface UploadLoopResult {
  uploads: number;
  bytes: number;
  failures: number;
  seconds: number;
  statuses: Record<string, number>;
}

const d = workerData as UploadLoopData;
let stopping = false;
parentPort?.on('message', (m) => {
  if (m === 'stop') stopping = true;
});

async function main(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: d.concurrency });
  const t0 = performance.now();
  const out: UploadLoopResult = { uploads: 0, bytes: 0, failures: 0, seconds: 0, statuses: {} };
  let next = 0;
  const lane = async () => {
    while (!stopping) {
      const i = next++;
      const caseId = d.caseIds[i % d.caseIds.length];
      try {
        const r = await uploadPayload(
          agent,
          { kind: 'lhcms', url: d.url, caseId, headers: d.headers },
          `${d.seedPrefix}-${i}`,
          d.size,
        );
        out.statuses[r.status] = (out.statuses[r.status] ?? 0) + 1;
        if (r.status === 201) {
          out.uploads++;
          out.bytes += d.size;
        } else out.failures++;
      } catch {
        out.failures++;
        out.statuses.socket = (out.statuses.socket ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: d.concurrency }, lane));
  out.seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  parentPort?.postMessage(out);
}

void main();
