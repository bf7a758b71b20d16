#!/usr/bin/env node
// `npm test`: every check CI runs, in order, with one summary line at the end.
//
// 1. Debian packages the integration tests need (real Mosquitto / InfluxDB servers): installed
//    with apt-get when running as root, otherwise the exact command to run is printed.
// 2. lint (eslint), type-check (tsc) and catalogue validation run beside the vitest tests, their
//    output held back and printed after vitest's. Each is one busy process while many test files
//    mostly wait on servers and child processes; one after another they took as long as all the
//    tests on a loaded machine. No eslint/tsc cache: CI starts from a clean clone, and eslint's
//    cache does not see type changes in other files (its type-aware rules would go stale).
// The last line is "tests: N passed, N failed" so CI logs can be read at a glance; the lines
// before it name each failed test (file > name) and each failed step.
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedTestLines } from './failed-tests.mjs';

/** Debian package → the binary that proves it is installed. */
const DEBIAN_PACKAGES = JSON.parse(readFileSync(new URL('./debian-packages.json', import.meta.url), 'utf8'));

function run(label, cmd, args, opts = {}) {
  const started = Date.now();
  process.stdout.write(`\n── ${label}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`── ${label}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs}s\n`);
  lastExit = r.status ?? r.signal;
  return r.status === 0;
}

/**
 * Starts a step in the background. `inherit`: its output goes straight to ours (vitest, watched
 * live); otherwise it is kept and printed by `finish()`, so parallel steps do not interleave.
 * Resolves to { ok, finish } once the process has ended.
 */
function start(label, cmd, args, inherit = false) {
  const started = Date.now();
  if (inherit) process.stdout.write(`\n── ${label}: ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, { stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  const out = [];
  child.stdout?.on('data', (d) => out.push(d));
  child.stderr?.on('data', (d) => out.push(d));
  return new Promise((resolve) => {
    const done = (status, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const ok = status === 0;
      const exit = status ?? signal;
      resolve({
        ok,
        exit,
        finish() {
          if (!inherit) process.stdout.write(`\n── ${label}: ${cmd} ${args.join(' ')}\n${Buffer.concat(out).toString()}`);
          process.stdout.write(`── ${label}: ${ok ? 'ok' : `FAILED (exit ${exit})`} in ${secs}s\n`);
        },
      });
    };
    child.once('error', (err) => {
      out.push(Buffer.from(`${err.message}\n`));
      done(null, 'spawn error');
    });
    child.once('close', done);
  });
}

/** How the last step ended (exit code or signal), for the summary when vitest wrote no report. */
let lastExit = 0;

function ensureDebianPackages() {
  const missing = Object.entries(DEBIAN_PACKAGES)
    .filter(([, binary]) => !existsSync(binary))
    .map(([pkg]) => pkg);
  if (missing.length === 0) return true;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    process.stderr.write(
      `The integration tests need these Debian packages: ${missing.join(' ')}\n` +
        `Install them with:  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n`,
    );
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return (
    run('apt-get update', 'apt-get', ['update', '-q'], { env }) &&
    run('install Debian packages', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env })
  );
}

const results = [];
const step = (name, ok) => {
  results.push({ name, ok });
  return ok;
};

const runStarted = Date.now();
step('debian packages', ensureDebianPackages());
const checks = [
  ['lint', start('lint', 'npx', ['eslint', '.'])],
  ['typecheck', start('typecheck', 'npx', ['tsc', '--noEmit', '-p', '.'])],
  ['validate', start('validate', 'node', ['bin/lorawan-edge', 'validate'])],
];

const outDir = mkdtempSync(join(tmpdir(), 'lorawan-edge-test-'));
const jsonFile = join(outDir, 'vitest.json');
const vitest = await start('vitest', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`], true);
vitest.finish();
lastExit = vitest.exit;
for (const [name, pending] of checks) {
  const r = await pending;
  r.finish();
  step(name, r.ok);
}
step('vitest', vitest.ok);

let passed = 0;
let failed = 0;
let skipped = 0;
let failedLines = [];
// Asked before the folder is removed below: a report that was written is never "missing".
const reported = existsSync(jsonFile);
if (reported) {
  const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
  failedLines = failedTestLines(report, process.cwd());
  passed = report.numPassedTests ?? 0;
  // A failed file with no failed test (e.g. an import error) still counts once.
  failed = (report.numFailedTests ?? 0) || (report.numFailedTestSuites ?? 0);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
rmSync(outDir, { recursive: true, force: true });
const vitestExit = lastExit;
if (!reported && !results.find((r) => r.name === 'vitest')?.ok) {
  // Killed or crashed before its report: say so instead of "no test ran"; the × lines above
  // (default reporter) show what had failed by then.
  failedLines.push(`FAILED vitest: ended (${vitestExit}) before writing its report; the × lines above show what failed until then`);
  failed = 1;
}

const badSteps = results.filter((r) => !r.ok).map((r) => r.name);
process.stdout.write(`\nsteps: ${results.map((r) => `${r.name} ${r.ok ? 'ok' : 'FAILED'}`).join(', ')}\n`);
// What failed, right above the closing line: a CI log's tail is often all anyone reads.
for (const line of failedLines) process.stdout.write(`${line}\n`);
if (passed === 0 && failed === 0) {
  process.stdout.write('no test ran\n');
  process.exitCode = 1;
} else {
  // Failed non-vitest steps count as failed tests so the closing line never hides them.
  const failedSteps = badSteps.filter((s) => s !== 'vitest').length;
  process.stdout.write(`all steps: ${((Date.now() - runStarted) / 1000).toFixed(0)}s wall\n`);
  process.stdout.write(`tests: ${passed} passed, ${failed + failedSteps} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exitCode = badSteps.length > 0 ? 1 : 0;
}
