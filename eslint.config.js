// Lint rules: the recommended sets of ESLint and typescript-eslint, plus the habits of DESIGN.md
// (no unexplained `any`, no floating promises on the hot path), and the engine boundary.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

// The engine boundary (docs/engine.md "Public entry"). Import specifiers are relative ('../..'),
// so each pattern is a regex on the specifier: climbing out with '../' then entering a folder.
// Type-only imports count too: a type names the module it comes from.
const APPLICATIONS = { regex: '^(\\.\\./)+(processors|api|cli)/', message: 'The engine (topology/, stores/, log/) and lib/ depend on no application: move the shared piece below them (lib/, or into the engine) or invert the dependency (docs/engine.md "Public entry").' }
const ENGINE_INTERNALS = { regex: '^(\\.\\./)+((stores|log)/|topology/(?!index\\.ts$))', message: 'Applications import the engine only through topology/index.ts (docs/engine.md "Public entry"); export what is missing there.' }
const COMPOSITION_ROOT = { regex: '^(\\.\\./)+cli/', message: 'cli/ is the composition root: applications do not import it.' }
export const ENGINE_BOUNDARY = [
  { files: ['topology/**/*.ts', 'stores/**/*.ts', 'log/**/*.ts', 'lib/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [APPLICATIONS] }] } },
  { files: ['processors/**/*.ts', 'api/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ENGINE_INTERNALS, COMPOSITION_ROOT] }] } },
  // Examples read like applications; example-log.ts is their composition root (it picks the log).
  { files: ['examples/**/*.ts'], ignores: ['examples/example-log.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [ENGINE_INTERNALS, COMPOSITION_ROOT] }] } }
]

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', '.tap/**', 'infra/aws/cdk.out/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error'
    }
  },
  ...ENGINE_BOUNDARY,
  {
    // tap's t.test() returns a promise that tap itself awaits.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked
  }
)
