// Type-aware lint over everything tsconfig.json covers (src/, test/, bench/, scripts/,
// vitest.config.ts, web/vite.config.ts) and the dashboard under web/tsconfig.json (web/src/).
// Why: the type checker accepts a promise nobody awaits; these rules do not (docs/architecture.md, "Lint").
import { defineConfig, globalIgnores } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'data/', 'coverage/', 'test-artifacts/', 'web/src/api/schema.d.ts']),
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json', './web/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `void p` is not a handler: a rejection of p (or of p.finally(...)) still ends the process.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A `default` does not count: a new member of a union must be handled where it is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unnecessary-condition': 'error',
      // `async` without `await` is deliberate where an interface or Fastify expects a promise:
      // it turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The rules of hooks (call order, effect dependencies) for the dashboard's React code.
    files: ['web/src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat['recommended-latest']],
  },
  {
    // Tests read answers through `inject().json()` and `JSON.parse`, which return `any` by design,
    // and check them with assertions at run time; typing each would restate the response schemas.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
