import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cleanEnv, PROJECT_ROOT, testDatabaseUrls } from '@lhcms/testing';

/**
 * `ops/bench/event-stream-latency.mjs` at a tiny rate: a fresh database, the
 * API as a process with the dispatcher and the webhook worker on, one SSE
 * stream and one webhook subscription to the script's own receiver. Checks
 * that both channels got every event (the script fails on a missing one, a
 * bad signature or a repeated webhook-id) and printed their latencies; no
 * performance assertion (docs/performance.md has the full run).
 */
describe('event delivery latency harness (smoke: 20 events/s for 2 s)', () => {
  it('measures the live feed and the webhooks in one run, every event received, signatures verified', () => {
    const run = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'ops/bench/event-stream-latency.mjs')],
      {
        cwd: PROJECT_ROOT,
        env: cleanEnv({
          BENCH_DATABASE_URL: testDatabaseUrls().adminUrl,
          BENCH_RATE: '20',
          BENCH_SECONDS: '2',
          BENCH_WARMUP: '1',
        }),
        encoding: 'utf8',
        timeout: 110_000,
      },
    );
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr.slice(-3000) }).toEqual(
      { status: 0, stderr: '' },
    );
    expect(run.stdout).toMatch(/^live feed \(SSE\): 40 received, 0 missing$/m);
    expect(run.stdout).toMatch(
      /^webhook: 40 received, 0 missing, 0 bad signatures, 0 repeated webhook-ids$/m,
    );
    expect(
      run.stdout.match(/^\| write answered → received \(lower bound\) \| \d+ \|/gm),
    ).toHaveLength(2);
  });
});
