import type { AuditRecord } from './audit-event';
import { AuditBatchWriter } from './audit-batch-writer';

const record = (i: number): AuditRecord => ({
  occurred_at: new Date(0),
  lab_id: String(i % 3),
  actor_user_id: String(i),
  actor_type: 'user',
  actor_role: null,
  source_ip: null,
  user_agent: null,
  request_id: `r${i}`,
  event_type: 'rest',
  action: 'R',
  interaction: 'read',
  resource_type: 'case',
  resource_id: String(i),
  patient_ref: null,
  subject_count: 1,
  entity_ids: null,
  patient_refs: null,
  query: null,
  changed_fields: null,
  outcome: 'success',
  outcome_detail: null,
  http_status: 200,
  http_method: 'GET',
  route: '/api/v1/cases/:id',
});

describe('AuditBatchWriter (group commit)', () => {
  it('gathers concurrent events into one INSERT per batch and releases each caller only after its batch committed', async () => {
    const statements: number[] = [];
    const commits: Array<() => void> = [];
    const writer = new AuditBatchWriter(
      async ({ params }) => {
        // The batch as one JSON array parameter, one element per event.
        expect(params).toHaveLength(1);
        statements.push((JSON.parse(params[0] as string) as unknown[]).length);
        await new Promise<void>((r) => commits.push(r));
      },
      { maxBatch: 10, lingerMs: 2, maxInFlight: 1 },
    );
    const done: number[] = [];
    const writes = Array.from({ length: 25 }, (_, i) =>
      writer.write(record(i)).then(() => done.push(i)),
    );
    await new Promise((r) => setImmediate(r));
    expect(statements).toEqual([10]); // the first batch is in flight, the rest wait
    expect(done).toEqual([]);
    commits.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toHaveLength(10);
    expect(statements).toEqual([10, 10]);
    commits.shift()!();
    await new Promise((r) => setTimeout(r, 5));
    commits.shift()!();
    await Promise.all(writes);
    expect(statements).toEqual([10, 10, 5]);
    expect(writer.pending).toBe(0);
  });

  it('rejects every caller of a failed batch (nothing is fire-and-forget)', async () => {
    const writer = new AuditBatchWriter(
      async () => {
        throw new Error('insert failed');
      },
      { maxBatch: 50, lingerMs: 1, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => writer.write(record(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('a row the database refuses fails alone: its batch-mates are written on their own', async () => {
    const statements: string[][] = [];
    const writer = new AuditBatchWriter(
      async ({ params }) => {
        const ids = (JSON.parse(params[0] as string) as AuditRecord[]).map((r) => r.request_id!);
        statements.push(ids);
        if (ids.includes('r2')) {
          throw Object.assign(new Error('invalid input value'), { code: '22P02' });
        }
      },
      { maxBatch: 50, lingerMs: 1, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => writer.write(record(i))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(statements).toEqual([['r1', 'r2', 'r3'], ['r1'], ['r2'], ['r3']]);
    await writer.drain();
    expect(writer.pending).toBe(0);
  });

  it('a connection or server failure fails the whole batch at once, without a retry per row', async () => {
    let calls = 0;
    const writer = new AuditBatchWriter(
      async () => {
        calls++;
        throw Object.assign(new Error('terminating connection'), { code: '57P01' });
      },
      { maxBatch: 50, lingerMs: 1, maxInFlight: 2 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => writer.write(record(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(calls).toBe(1);
  });

  it('an idle writer flushes on the next turn of the event loop, without waiting for the linger', async () => {
    let calls = 0;
    const writer = new AuditBatchWriter(
      async () => {
        calls++;
      },
      // A linger far beyond the test's timeout: the writes only resolve if the idle writer
      // does not wait for it (no wall-clock bound, so a busy machine cannot fail this).
      { maxBatch: 100, lingerMs: 600_000, maxInFlight: 2 },
    );
    await Promise.all([writer.write(record(1)), writer.write(record(2))]);
    expect(calls).toBe(1);
  });
});
