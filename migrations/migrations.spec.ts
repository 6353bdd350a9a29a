import * as fs from 'node:fs';
import * as path from 'node:path';
import { MIGRATIONS } from './index';

describe('migrations/index.ts', () => {
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => /^\d{13}-[A-Za-z0-9]+\.ts$/.test(f))
    .sort();

  it('lists every migration file, in timestamp order', () => {
    const names = MIGRATIONS.map((m) => new m().name);
    const expected = files.map((f) => {
      const [ts, pascal] = f.replace(/\.ts$/, '').split('-');
      return `${pascal}${ts}`;
    });
    expect(names).toEqual(expected);
  });

  it('names files <timestamp>-<PascalName>.ts', () => {
    const all = fs
      .readdirSync(__dirname)
      .filter((f) => f.endsWith('.ts') && !['index.ts', 'migrations.spec.ts'].includes(f));
    expect(all.filter((f) => !files.includes(f))).toEqual([]);
    expect(files.length).toBe(MIGRATIONS.length);
    expect(path.basename(__filename)).toBe('migrations.spec.ts');
  });
});
