// Lint (`npm run lint`): typescript-eslint's recommended rules with type information, plus the layer boundaries
// of docs/architecture.md as import restrictions: a route does not reach the database or git, src/content/ does
// no I/O, and only src/git/ starts processes.
import tseslint from 'typescript-eslint';

const processes = ['node:child_process', 'child_process'];
const io = [...processes, 'node:fs', 'node:fs/promises', 'fs', 'fs/promises', 'node:net', 'node:http', 'node:https', 'node:worker_threads'];
const restrict = (names, patterns, message) => ({
  'no-restricted-imports': ['error', { paths: names.map((name) => ({ name, message })), patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'test-output/', '**/*.mjs', '**/*.js', 'src/web/assets/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // async functions that implement an async interface without awaiting are fine
      '@typescript-eslint/require-await': 'off',
      // Kysely's expression builders are destructured by design (`({ not, exists }) => …`)
      '@typescript-eslint/unbound-method': 'off',
      // `string | 'all'` documents the special value even though the union is just string
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // a failure kept in an `unknown` variable is rethrown as it was caught
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    // database-image.ts forks a Node process (not git) so that building the image (initdb, ~700 MB) never
    // weighs on the server's memory
    ignores: ['src/git/**', 'src/db/database-image.ts'],
    rules: restrict(processes, [], 'Only src/git/ starts processes (git, through its spawner).'),
  },
  {
    files: ['src/content/**'],
    rules: restrict(io, ['**/db/*', '**/git/*', '**/web/*', '**/projects/*'], 'src/content/ is pure: strings in, data out, no I/O.'),
  },
  {
    files: ['src/web/routes/**'],
    ignores: ['src/web/routes/git-http.ts'],
    rules: restrict(processes, ['**/db/*', '**/git/*'], 'Routes parse, call a use case and present; SQL and git live in the services.'),
  },
  {
    // git over smart HTTP streams git's own protocol: the stream (git/smart-http.ts) is the one git module a route uses
    files: ['src/web/routes/git-http.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: processes.map((name) => ({ name, message: 'Only src/git/ starts processes (git, through its spawner).' })),
        patterns: [{ group: ['**/db/*', '**/git/*', '!**/git/smart-http.ts'], message: 'Routes parse, call a use case and present; SQL and git live in the services (the smart-HTTP stream aside).' }],
      }],
    },
  },
  {
    // node:test's describe/test return promises the runner tracks; tests poke at untyped JSON and HTML freely
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-implied-eval': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
);
