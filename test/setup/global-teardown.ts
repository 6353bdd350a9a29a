import * as fs from 'node:fs';
import type { TestCluster, TestDatabase } from '@lhcms/testing';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__lhcmsTest as
    { cluster: TestCluster; db: TestDatabase; checkpoints?: string } | undefined;
  if (!state) return;
  if (!process.env.LHCMS_KEEP_TEST_DB) await state.db.drop().catch(() => undefined);
  await state.cluster.stop();
  if (state.checkpoints) fs.rmSync(state.checkpoints, { recursive: true, force: true });
}
