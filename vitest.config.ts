import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'flows/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
