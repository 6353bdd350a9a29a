import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FolderInUseError, OwnerLock } from './owner-lock';

/** A live Node.js process other than this one (an owner that still runs). */
function otherNode(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  return new Promise((resolve, reject) =>
    child.once('spawn', () => resolve(child)).once('error', reject),
  );
}

describe('OwnerLock (the embedded PostgreSQL folder lock)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-lock-'));
    file = path.join(dir, 'postgres.lock');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes this pid and removes the file on release', () => {
    const lock = OwnerLock.acquire(file, dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses while the owner runs, naming its pid, and leaves its lock alone', async () => {
    const owner = await otherNode();
    try {
      fs.writeFileSync(file, `${owner.pid}\n`);
      let err: unknown;
      try {
        OwnerLock.acquire(file, dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FolderInUseError);
      expect((err as Error).message).toContain(`LHCMS pid ${owner.pid}`);
      expect(fs.readFileSync(file, 'utf8')).toBe(`${owner.pid}\n`);
    } finally {
      owner.kill('SIGKILL');
    }
  });

  it("takes over a dead owner's lock (a killed run), telling whose", async () => {
    const owner = await otherNode();
    const gone = new Promise((resolve) => owner.once('exit', resolve));
    owner.kill('SIGKILL');
    await gone;
    fs.writeFileSync(file, `${owner.pid}\n`);
    const previous: number[] = [];
    const lock = OwnerLock.acquire(file, dir, (pid) => previous.push(pid));
    expect(previous).toEqual([owner.pid]);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    expect(fs.readdirSync(dir)).toEqual(['postgres.lock']);
    lock.release();
  });

  it('takes over a lock with its own pid (a restarted container) or with garbage', () => {
    fs.writeFileSync(file, `${process.pid}\n`);
    OwnerLock.acquire(file, dir).release();
    fs.writeFileSync(file, 'not a pid');
    OwnerLock.acquire(file, dir).release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it("release never removes another process's lock", () => {
    const lock = OwnerLock.acquire(file, dir);
    fs.writeFileSync(file, '1\n');
    lock.release();
    expect(fs.readFileSync(file, 'utf8')).toBe('1\n');
  });
});
