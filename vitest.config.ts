import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'flows/node_modules/**'],
    // Generous: on a loaded CI machine (two cores, other jobs) a test that spawns the command a
    // few times through tsx can take a minute; a real hang still fails, only later.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // vitest's default is one worker less than the cores: on a 2-core machine that is one test
    // file at a time, while most of the slow files wait on servers (Mosquitto, InfluxDB,
    // Chromium) and child processes rather than compute. At least two files at a time; every
    // file uses its own free ports and temp folders, so they may overlap. `--maxWorkers=n`
    // overrides it for a run.
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
