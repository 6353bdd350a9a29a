import * as fs from 'node:fs';
import * as path from 'node:path';
import { brokenLink, linksOf } from '../test/support/markdown-links';

/**
 * The documentation that ships with the repository (README.md, docs/, the
 * READMEs under ops/): every relative link and anchor resolves, and nothing
 * in the tree points at documents outside it, which a clone cannot open.
 */
const ROOT = path.resolve(__dirname, '..');
const SKIP = new Set(['node_modules', 'dist', '.data', '.git', 'coverage', '.tools']);

function filesUnder(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, keep));
    else if (e.isFile() && keep(p)) out.push(p);
  }
  return out;
}

const rel = (f: string) => path.relative(ROOT, f);

describe('the documentation', () => {
  const markdown = filesUnder(ROOT, (f) => f.endsWith('.md'));

  it('has the README and the documents it links to', () => {
    expect(markdown.map(rel)).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/architecture.md',
        'docs/api.md',
        'docs/hipaa.md',
        'docs/operations.md',
        'docs/performance.md',
        'docs/failure-behaviour.md',
      ]),
    );
  });

  it('README.md stays an overview (at most 300 lines)', () => {
    const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(300);
  });

  it('every relative link and anchor resolves inside the repository', () => {
    const broken: string[] = [];
    for (const file of markdown) {
      for (const target of linksOf(fs.readFileSync(file, 'utf8'))) {
        const why = brokenLink(ROOT, file, target);
        if (why) broken.push(`${rel(file)}: ${target}: ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('nothing in the tree refers to documents outside the repository', () => {
    const outside = [/\.\.\/shared\b/, /\bdesign\/[\w.-]+\.md\b/, /(^|[^\w-])reference\/[\w.-]/];
    const self = path.resolve(__filename);
    const text = filesUnder(
      ROOT,
      (f) =>
        (/\.(ts|mjs|cjs|js|md|ya?ml|json|sh|sql|txt|tpl|conf)$/.test(f) ||
          ['Dockerfile', 'run'].includes(path.basename(f))) &&
        f !== self,
    ).filter((f) => !f.endsWith('package-lock.json'));
    const hits: string[] = [];
    for (const file of text) {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (outside.some((re) => re.test(line))) hits.push(`${rel(file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });
});
