/**
 * Shared settings of the fast-check fuzz targets (`*.fuzz.test.ts`): a fixed seed and a bounded
 * number of runs in CI, both overridable for a longer run (bench/fuzz/README.md):
 *   FUZZ_RUNS=20000 FUZZ_SEED=7 npx vitest run gateway/config.fuzz.test.ts
 */
export function fuzzParams(defaultRuns: number): { seed: number; numRuns: number; endOnFailure: true } {
  const runs = Number(process.env['FUZZ_RUNS'] ?? defaultRuns);
  const seed = Number(process.env['FUZZ_SEED'] ?? 20261206);
  return { seed: Number.isFinite(seed) ? seed : 20261206, numRuns: Number.isFinite(runs) && runs > 0 ? Math.min(runs, 1_000_000) : defaultRuns, endOnFailure: true };
}

/** A test timeout that grows with FUZZ_RUNS (about 25 ms a case on a loaded Pi-class machine). */
export function fuzzTimeoutMs(defaultRuns: number): number {
  return Math.max(120_000, fuzzParams(defaultRuns).numRuns * 25);
}
