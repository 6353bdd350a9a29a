import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

// The module-boundaries lint rule (eslint-rules/module-boundaries.mjs), on scratch files placed
// in the real tree: the graph it checks for cycles is the real one.
const ROOT = path.resolve(__dirname, '..');

async function lint(file: string, code: string): Promise<string[]> {
  const { default: lhcms } = await import('../eslint-rules/module-boundaries.mjs');
  const eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { lhcms },
        rules: { 'lhcms/module-boundaries': 'error' },
      },
    ],
  });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => m.message);
}

describe('module boundaries (lint)', () => {
  it('passes an import through the other module’s index.ts and anything from common/', async () => {
    expect(
      await lint(
        'apps/api/src/cases/scratch.ts',
        `import { AuditService } from '../audit';\nimport { DomainError } from '../common/errors/domain-error';\nimport { x } from './cases.repository';\nexport { AuditService, DomainError, x };`,
      ),
    ).toEqual([]);
  });

  it('refuses a deep import into another module, from any depth and from the root', async () => {
    expect(
      await lint(
        'apps/api/src/cases/scratch.ts',
        `export { AuditService } from '../audit/audit.service';`,
      ),
    ).toEqual([
      expect.stringContaining(
        "'audit' is another module: import it through its index.ts ('../audit')",
      ),
    ]);
    expect(
      await lint(
        'apps/api/src/cases/use-cases/scratch.ts',
        `import { PhiCipher } from '../../encryption/phi-cipher';\nexport { PhiCipher };`,
      ),
    ).toEqual([expect.stringContaining("'encryption' is another module")]);
    expect(
      await lint('apps/api/src/scratch.ts', `export { CasesModule } from './cases/cases.module';`),
    ).toEqual([expect.stringContaining("'cases' is another module")]);
    expect(
      await lint(
        'apps/api/src/scratch.ts',
        `export const m = import('./dev-runtime/dev-runtime.js');`,
      ),
    ).toEqual([expect.stringContaining("'dev-runtime' is another module")]);
  });

  it('refuses an import that closes a folder cycle, naming it', async () => {
    // cases imports audit; audit importing cases would close audit → cases → audit.
    expect(
      await lint('apps/api/src/audit/scratch.ts', `export { CasesModule } from '../cases';`),
    ).toEqual([expect.stringContaining('folder cycle: audit → cases → audit')]);
    // A longer one: cases → encryption → case-model; case-model importing cases closes it.
    expect(
      await lint('apps/api/src/case-model/scratch.ts', `export { CasesModule } from '../cases';`),
    ).toEqual([expect.stringContaining('folder cycle: case-model → cases → case-model')]);
  });

  it('ignores packages and the libraries', async () => {
    expect(
      await lint(
        'apps/api/src/audit/scratch.ts',
        `import { Injectable } from '@nestjs/common';\nimport { TenantDb } from '@lhcms/database';\nexport { Injectable, TenantDb };`,
      ),
    ).toEqual([]);
  });
});
