// Flat config: typescript-eslint's type-aware rules on all our TypeScript.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Not ours to lint: vendor codec scripts in the catalogue (they run unmodified in the sandbox)
  // and dist/, the bundle `npm run build` makes from the sources.
  { ignores: ['node_modules/**', 'coverage/**', 'dist/**', '**/fixtures/**', 'flows/node_modules/**', 'flows/dist/**', 'devices/*/codecs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'bin/lorawan-edge'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
