// typescript-eslint, type-aware. The rules encode intent (the project's style: strict types, no floating promises):
// no floating promises, exhaustive switches, type-only imports, no `any`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import lhcms from './eslint-rules/module-boundaries.mjs';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', '.tools/**', 'helm/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-console': 'error',
    },
  },
  {
    // Nest resolves constructor parameters by their emitted type metadata:
    // a type-only import of an injected class would break dependency injection.
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // Module boundaries. `common/` is what every module may use; it knows no feature module
    // (each module registers its error statuses and wire schemas with common/ instead).
    files: ['apps/api/src/common/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./\\.\\./(?!common/)[^/]+/',
              message: 'common/ depends on no feature module: register with common/ instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // Between the application's modules: only through a module's index.ts, and no folder
    // cycles (eslint-rules/module-boundaries.mjs). Unit specs may reach into what they test.
    files: ['apps/api/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    plugins: { lhcms },
    rules: { 'lhcms/module-boundaries': 'error' },
  },
  {
    // The libraries are the application's foundation: they never import an app (libs/testing,
    // which starts the real API for the tests, excepted).
    files: ['libs/**/*.ts'],
    ignores: ['libs/testing/**', '**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '(^|/)apps/', message: 'a library never imports an app.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'libs/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The JavaScript files (scripts/, ops/bench/*.mjs, the Jest and ESLint configurations):
    // the recommended rules, without type information (they are not in a TypeScript project).
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Command-line scripts print to the terminal (the service itself logs through pino).
    files: ['scripts/**', 'ops/bench/*.mjs'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
