import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'flows/node_modules/**'],
    // Generous: on a loaded CI machine (two cores, other jobs) a test that spawns the command a
    // few times through tsx can take a minute; a real hang still fails, only later.
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
