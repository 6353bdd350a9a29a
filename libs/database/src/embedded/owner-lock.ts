import * as fs from 'node:fs';

/** The live LHCMS process that owns the folder a start wanted. */
export class FolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly ownerPid: number,
  ) {
    super(
      `the embedded PostgreSQL in ${folder} belongs to LHCMS pid ${ownerPid}, which is still running; stop it first, or start this one with another LHCMS_DATA_DIR (and ports), or with DATABASE_URL`,
    );
  }
}

/** True when pid runs (also as another user) and, where /proc tells, is a Node.js process. */
export function ownerAlive(pid: number): boolean {
  // Nobody else can be us: a lock with our own pid is a previous life's (a container restarted
  // with the same pid on a kept volume).
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A reused pid: something else runs under it now.
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // no /proc (macOS): trust the pid
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A lock file holding the pid of the LHCMS process that runs the embedded
 * PostgreSQL of a folder. Created atomically (O_EXCL); one whose process is
 * dead (a killed run) is taken over; one whose process runs refuses the start
 * with FolderInUseError. Released on a clean stop and on process exit.
 */
export class OwnerLock {
  private held = false;
  private readonly onExit = (): void => this.release();

  private constructor(readonly file: string) {}

  /**
   * Takes the lock for this process. `previous` is told the pid of a dead
   * owner whose lock is taken over.
   */
  static acquire(file: string, folder: string, previous?: (pid: number) => void): OwnerLock {
    const lock = new OwnerLock(file);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o644);
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        lock.held = true;
        process.on('exit', lock.onExit);
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
      if (seen === undefined) continue; // released meanwhile
      const pid = readPid(file);
      if (pid !== undefined && ownerAlive(pid)) throw new FolderInUseError(folder, pid);
      // Stale: move it aside atomically, so that of two starts taking it over only one removes it,
      // and never a lock another start has just created.
      const aside = `${file}.${process.pid}.stale`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      if (fs.readFileSync(aside, 'utf8') === seen) {
        fs.rmSync(aside, { force: true });
        if (pid !== undefined) previous?.(pid);
      } else {
        // Not the stale lock any more: put the live one back (unless yet another took its place).
        try {
          fs.linkSync(aside, file);
        } catch {
          /* a newer lock is there */
        }
        fs.rmSync(aside, { force: true });
      }
    }
    throw new Error(`could not take the lock ${file}; remove it if no LHCMS runs on this folder`);
  }

  /** Removes the lock file if it is still ours. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    process.off('exit', this.onExit);
    if (readPid(this.file) === process.pid) fs.rmSync(this.file, { force: true });
  }
}
