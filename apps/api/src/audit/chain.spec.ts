import { canonicalDigest, GENESIS, rowHash } from './chain';
import { verifyChain, type ChainEntry } from './chain-verifier';

const key = Buffer.alloc(32, 7);

function chain(n: number): ChainEntry[] {
  let prev = GENESIS;
  return Array.from({ length: n }, (_, i) => {
    const position = i + 1;
    const digest = canonicalDigest([String(position), 'x', null]);
    const row_hash = rowHash(key, prev, position, String(position), digest);
    const e = {
      position,
      seq: String(position),
      tx_id: String(100 + position),
      prev_hash: prev,
      row_hash,
      digest,
    };
    prev = row_hash;
    return e;
  });
}

const run = (entries: ChainEntry[]) =>
  verifyChain(
    key,
    'c',
    async (after, max) => entries.filter((e) => e.position > after).slice(0, max),
    [],
    async () => [],
  );

describe('hash chain (unit)', () => {
  it('canonical digests are length-prefixed: moving text between fields changes the digest', () => {
    expect(canonicalDigest(['ab', 'c'])).not.toBe(canonicalDigest(['a', 'bc']));
    expect(canonicalDigest([null, 'x'])).not.toBe(canonicalDigest(['', 'x']));
    expect(canonicalDigest(['ü'])).toBe(canonicalDigest(['ü']));
  });

  it('a chain verifies; each kind of tampering is named', async () => {
    expect(await run(chain(6))).toMatchObject({ status: 'intact', entries_checked: 6 });
    const altered = chain(6);
    altered[2] = { ...altered[2], digest: canonicalDigest(['3', 'y', null]) };
    expect((await run(altered)).problem).toMatchObject({ kind: 'altered', position: 3 });
    const gone = chain(6);
    gone[3] = { ...gone[3], digest: null };
    expect((await run(gone)).problem).toMatchObject({ kind: 'deleted', position: 4 });
    const swapped = chain(6);
    [swapped[2], swapped[3]] = [
      { ...swapped[3], position: 3 },
      { ...swapped[2], position: 4 },
    ];
    expect((await run(swapped)).problem).toMatchObject({ kind: 'reordered', position: 3 });
    const inserted = chain(6).map((e) =>
      e.position >= 3 ? { ...e, position: e.position + 1 } : e,
    );
    inserted.splice(2, 0, {
      position: 3,
      seq: '99',
      tx_id: '1',
      prev_hash: inserted[1].row_hash,
      row_hash: 'f'.repeat(64),
      digest: 'd',
    });
    expect((await run(inserted)).problem).toMatchObject({ kind: 'inserted', position: 3 });
  });
});
