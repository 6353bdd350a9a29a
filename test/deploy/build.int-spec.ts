import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '@lhcms/testing';

/**
 * `npm run build` (scripts/build.mjs) builds once: `npm start`, `npm test` and `npm run bench`
 * all run it first, so a build with nothing changed must cost next to nothing and write
 * nothing, a changed file must be compiled (with its `@lhcms/*` imports rewritten), and the
 * outputs of a deleted file must go. Run on a copy of the sources (the repository's own dist/
 * is in use by the other tests), with the repository's node_modules.
 */
describe('npm run build (scripts/build.mjs)', () => {
  let dir: string;
  const dist = (...p: string[]) => path.join(dir, 'dist', ...p);

  function build(): number {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    return performance.now() - t0;
  }

  /** Every file under dist/ with its modification time. */
  function outputs(): Map<string, number> {
    const found = new Map<string, number>();
    for (const f of fs.readdirSync(dist(), { recursive: true, encoding: 'utf8' })) {
      const st = fs.statSync(dist(f));
      if (st.isFile()) found.set(f, st.mtimeMs);
    }
    return found;
  }

  const compiledWithAliases = () =>
    [...outputs().keys()].filter(
      (f) => f.endsWith('.js') && /require\("@lhcms\//.test(fs.readFileSync(dist(f), 'utf8')),
    );

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lhcms-build-'));
    for (const p of ['apps', 'libs', 'migrations', 'ops', 'scripts'])
      fs.cpSync(path.join(PROJECT_ROOT, p), path.join(dir, p), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json'])
      fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(dir, f));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds from nothing, then does nothing when nothing changed, and fast', () => {
    const full = build();
    expect(fs.existsSync(dist('apps/api/src/main.js'))).toBe(true);
    expect(fs.existsSync(dist('apps/api/src/cases/reference-data/types.json'))).toBe(true);
    expect(compiledWithAliases()).toEqual([]);

    const before = outputs();
    const again = build();
    expect(outputs()).toEqual(before);
    // An up-to-date check, not a compile (about 0.4 s against 5 s here).
    expect(again).toBeLessThan(full / 3);
  }, 120_000);

  it('compiles a changed file, with its @lhcms/* imports rewritten', () => {
    const main = path.join(dir, 'apps/api/src/main.ts');
    fs.appendFileSync(main, '\n// changed by the build test\n');
    build();
    const out = fs.readFileSync(dist('apps/api/src/main.js'), 'utf8');
    expect(out).toContain('// changed by the build test');
    expect(compiledWithAliases()).toEqual([]);
  }, 120_000);

  it('compiles a new file and copies a new asset; removes their outputs once they are deleted', () => {
    const source = path.join(dir, 'libs/config/src/build-probe.ts');
    const asset = path.join(dir, 'apps/api/src/cases/reference-data/build-probe.json');
    fs.writeFileSync(source, `export const buildProbe = 1;\n`);
    fs.writeFileSync(asset, '{"probe":1}\n');
    build();
    expect(fs.existsSync(dist('libs/config/src/build-probe.js'))).toBe(true);
    expect(
      fs.readFileSync(dist('apps/api/src/cases/reference-data/build-probe.json'), 'utf8'),
    ).toBe('{"probe":1}\n');

    fs.rmSync(source);
    fs.rmSync(asset);
    build();
    const left = [...outputs().keys()].filter((f) => f.includes('build-probe'));
    expect(left).toEqual([]);
  }, 120_000);
});
