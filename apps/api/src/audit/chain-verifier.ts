import { GENESIS, rowHash } from './chain';
import { type Checkpoint } from './checkpoints';

/** One chain entry with the digest of the event it covers as it is now (null: the event is gone). */
export interface ChainEntry {
  position: number;
  seq: string;
  tx_id: string;
  prev_hash: string;
  row_hash: string;
  digest: string | null;
}

export type ProblemKind = 'altered' | 'deleted' | 'inserted' | 'reordered' | 'checkpoint';

export interface VerifyProblem {
  kind: ProblemKind;
  /** Chain position where the problem is first seen. */
  position: number;
  /** The event at that position, when known. */
  seq?: string;
  detail: string;
}

export interface VerifyReport {
  status: 'intact' | 'tampered';
  chain_id: string;
  entries_checked: number;
  first_position: number | null;
  last_position: number | null;
  checkpoints_checked: number;
  problem?: VerifyProblem;
}

/** Reads the chain in position order, a page at a time. */
export type ChainPages = (afterPosition: number, max: number) => Promise<ChainEntry[]>;

const PAGE = 5000;

/**
 * Walks the chain and the checkpoints and reports the first problem:
 *
 * - altered:   an entry links correctly but its event no longer matches its hash;
 * - inserted:  an entry whose hash does not verify, while the next entry links
 *              to what came before it (it was slipped in); also an event that
 *              can no longer be sealed because it sits below the sealed horizon;
 * - deleted:   a position missing, an event gone, an entry linking to an entry
 *              that is not there, or the tail cut off below a checkpoint;
 * - reordered: an entry linking to its successor's hash while the successor
 *              links to what precedes both (positions swapped);
 * - checkpoint: a checkpoint file altered, missing, or contradicting the chain.
 */
export async function verifyChain(
  key: Buffer,
  chainId: string,
  pages: ChainPages,
  checkpointFiles: Array<{ file: string; checkpoint?: Checkpoint; invalid?: string }>,
  strayEvents: () => Promise<Array<{ seq: string }>>,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    status: 'intact',
    chain_id: chainId,
    entries_checked: 0,
    first_position: null,
    last_position: null,
    checkpoints_checked: 0,
  };
  const fail = (p: VerifyProblem): VerifyReport => ({ ...report, status: 'tampered', problem: p });

  // Checkpoints: signatures and their own links first.
  const checkpoints: Checkpoint[] = [];
  for (const f of checkpointFiles) {
    if (!f.checkpoint) {
      return fail({
        kind: 'checkpoint',
        position: Number(f.file.slice(0, 20)),
        detail: `checkpoint ${f.file}: ${f.invalid ?? 'invalid'}`,
      });
    }
    checkpoints.push(f.checkpoint);
  }
  for (let i = 1; i < checkpoints.length; i++) {
    if (checkpoints[i].prev !== checkpoints[i - 1].signature) {
      return fail({
        kind: 'checkpoint',
        position: checkpoints[i].position,
        detail: `the checkpoint before position ${checkpoints[i].position} is missing`,
      });
    }
  }
  const wanted = new Map<number, Checkpoint>(checkpoints.map((c) => [c.position, c]));

  let expectPrev = GENESIS;
  let expectPos = 1;
  let held: ChainEntry | undefined;
  let last: ChainEntry | undefined;

  const classify = (h: ChainEntry, next: ChainEntry | undefined): VerifyProblem => {
    if (h.prev_hash === expectPrev) {
      return next && next.prev_hash === expectPrev
        ? {
            kind: 'inserted',
            position: h.position,
            seq: h.seq,
            detail: `an entry was inserted at position ${h.position}: its hash does not verify and the next entry links past it`,
          }
        : {
            kind: 'altered',
            position: h.position,
            seq: h.seq,
            detail: `event seq ${h.seq} at position ${h.position} does not match its hash`,
          };
    }
    return next && next.prev_hash === expectPrev
      ? {
          kind: 'reordered',
          position: h.position,
          seq: h.seq,
          detail: `positions ${h.position} and ${next.position} are out of order`,
        }
      : {
          kind: 'deleted',
          position: h.position,
          seq: h.seq,
          detail: `the entry before position ${h.position} is missing (it links to a hash that is not in the chain)`,
        };
  };

  let after = 0;
  let first = true;
  for (;;) {
    const page = await pages(after, PAGE);
    for (const e of page) {
      if (first) {
        first = false;
        report.first_position = e.position;
        if (e.position !== 1) {
          // Purged below a checkpoint: the chain goes on from that checkpoint's hash.
          const from = wanted.get(e.position - 1);
          if (!from) {
            return fail({
              kind: 'deleted',
              position: e.position,
              seq: e.seq,
              detail: `the chain starts at position ${e.position} and no checkpoint covers position ${e.position - 1}`,
            });
          }
          expectPrev = from.hash;
          expectPos = e.position;
        }
      }
      if (held) return fail(classify(held, e));
      if (e.position !== expectPos) {
        return fail({
          kind: 'deleted',
          position: expectPos,
          detail: `positions ${expectPos} to ${e.position - 1} are missing`,
        });
      }
      if (e.digest === null) {
        return fail({
          kind: 'deleted',
          position: e.position,
          seq: e.seq,
          detail: `event seq ${e.seq} (position ${e.position}) was deleted`,
        });
      }
      const valid = rowHash(key, e.prev_hash, e.position, e.seq, e.digest) === e.row_hash;
      if (!valid || e.prev_hash !== expectPrev) {
        held = e;
        continue;
      }
      const cp = wanted.get(e.position);
      if (cp) {
        report.checkpoints_checked++;
        if (cp.hash !== e.row_hash || cp.seq !== e.seq) {
          return fail({
            kind: 'checkpoint',
            position: e.position,
            seq: e.seq,
            detail: `position ${e.position} does not match its signed checkpoint of ${cp.time}`,
          });
        }
      }
      expectPrev = e.row_hash;
      expectPos = e.position + 1;
      report.entries_checked++;
      report.last_position = e.position;
      last = e;
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1].position;
  }
  if (held) return fail(classify(held, undefined));

  const beyond = checkpoints.filter((c) => c.position > (last?.position ?? 0));
  if (beyond.length > 0) {
    const c = beyond[beyond.length - 1];
    return fail({
      kind: 'deleted',
      position: (last?.position ?? 0) + 1,
      detail: `the chain ends at position ${last?.position ?? 0} but a checkpoint of ${c.time} covers position ${c.position}: the tail was removed`,
    });
  }
  const stray = await strayEvents();
  if (stray.length > 0) {
    return fail({
      kind: 'inserted',
      position: (last?.position ?? 0) + 1,
      seq: stray[0].seq,
      detail: `event seq ${stray[0].seq} was inserted below the sealed part of the chain`,
    });
  }
  return report;
}
