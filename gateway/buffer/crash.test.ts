/**
 * Crash test. A child process appends records (content derived from the id) and prints every id
 * whose append resolved; the parent SIGKILLs it at random moments, reopens the log and checks
 * that every acknowledged record is there and intact, nothing was invented, ids only grow and
 * survive restarts, and the consumer's cursor held. Then it damages copies of the resulting
 * folder at random (torn tails, flipped bytes) and checks that recovery cuts, skips and counts
 * exactly what was damaged and keeps everything else.
 */
import { spawn } from 'node:child_process';
import { cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableLog } from './index.ts';
import type { LogRecord } from './index.ts';
import { isUplinkFor, uplinkFor } from './testing/records.ts';
import type { TestUplink } from './testing/records.ts';
import { tempDir } from './testing/tmp.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const WRITER = join(HERE, 'testing', 'crash-writer.ts');
const SEGMENT_BYTES = 32 * 1024;
const KILLS = 10;

interface ChildRun {
  start: number;
  acked: [number, number][];
  commits: number[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs the writer until it is open (or, with `afterCommit`, until its consumer committed once),
 * lets it work for `ms`, then SIGKILLs it.
 */
function runAndKill(dir: string, ms: number, fsyncIntervalMs: number, afterCommit = false, cursorIntervalMs = 0): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(SEGMENT_BYTES), String(fsyncIntervalMs), String(cursorIntervalMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: REPO_ROOT, // where `--import tsx` is resolved
    });
    const run: ChildRun = { start: 0, acked: [], commits: [], stderr: '', code: null, signal: null };
    let partial = '';
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const [what, a, b] = line.split(' ');
        if (what === 'start') {
          run.start = Number(a);
          if (!afterCommit) killTimer = setTimeout(() => child.kill('SIGKILL'), ms);
        } else if (what === 'ack') run.acked.push([Number(a), Number(b)]);
        else if (what === 'commit') {
          run.commits.push(Number(a));
          if (afterCommit && killTimer === undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), ms);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (run.stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(killTimer);
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

async function openAndReadAll(dir: string, sink: string): Promise<{ log: DurableLog<TestUplink>; recs: LogRecord<TestUplink>[] }> {
  const log = await DurableLog.open<TestUplink>({ dir, segment_bytes: SEGMENT_BYTES, fsync_interval_ms: 1 });
  const reader = log.reader(sink);
  const recs: LogRecord<TestUplink>[] = [];
  for (let b = await reader.read(5000); b.length > 0; b = await reader.read(5000)) recs.push(...b);
  await reader.close();
  return { log, recs };
}

function expectIntactAndIncreasing(recs: LogRecord<TestUplink>[]): void {
  let prev = 0;
  for (const r of recs) {
    if (r.id <= prev) expect.fail(`ids not strictly increasing: ${r.id} after ${prev}`);
    if (!isUplinkFor(r.id, r.value)) expect.fail(`record ${r.id} does not hold uplinkFor(${r.id})`);
    prev = r.id;
  }
}

let workDir = '';
let removeWorkDir: () => Promise<void> = async () => undefined;
beforeAll(async () => {
  ({ dir: workDir, remove: removeWorkDir } = await tempDir('crash'));
});
afterAll(async () => {
  await removeWorkDir();
});

describe('durable log under SIGKILL', () => {
  it(`keeps every acknowledged record through ${KILLS} kills at random moments`, async () => {
    const dir = join(workDir, 'log');
    const seed = Date.now();
    const rand = fc.sample(fc.integer({ min: 20, max: 200 }), { numRuns: KILLS, seed });
    let maxAcked = 0;
    let totalAcked = 0;
    let lastCommit = 0;
    for (let k = 0; k < KILLS; k++) {
      // The last run is killed only after a cursor commit, so the test always covers commits
      // even when a loaded machine makes the child slow to get going.
      const run = await runAndKill(dir, rand[k] as number, k % 2 === 0 ? 2 : 20, k === KILLS - 1);
      expect(run.stderr).toBe('');
      expect(run.signal).toBe('SIGKILL');
      // Ids survive restarts: the child started after everything acknowledged before.
      expect(run.start).toBeGreaterThan(maxAcked);
      for (const [, last] of run.acked) maxAcked = Math.max(maxAcked, last);
      totalAcked += run.acked.reduce((n, [a, b]) => n + b - a + 1, 0);
      lastCommit = Math.max(lastCommit, ...run.commits);

      const { log, recs } = await openAndReadAll(dir, 'consumer');
      try {
        const s = log.stats();
        expect(s.corrupt_records).toBe(0);
        expect(s.sinks['consumer']?.committed).toBeGreaterThanOrEqual(lastCommit);
        const committed = s.sinks['consumer']?.committed ?? 0;
        expect(s.first_id - 1).toBeLessThanOrEqual(committed); // nothing uncommitted was deleted
        expectIntactAndIncreasing(recs);
        const present = new Set(recs.map((r) => r.id));
        for (const [first, last] of run.acked) {
          for (let id = Math.max(first, committed + 1); id <= last; id++) {
            if (!present.has(id)) expect.fail(`acknowledged record ${id} is missing after kill ${k + 1} (seed ${seed})`);
          }
        }
        expect(log.nextId).toBeGreaterThan(maxAcked);
      } finally {
        await log.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(100);
    expect(lastCommit).toBeGreaterThan(0);
  });

  it('with cursor_interval_ms the written cursor may lag the commits, but nothing after it is ever deleted', async () => {
    const dir = join(workDir, 'log-cursor-interval');
    let maxAcked = 0;
    let lastCommit = 0;
    let written = 0;
    for (let k = 0; k < 4; k++) {
      const run = await runAndKill(dir, 150 + 100 * k, 2, true, 100);
      expect(run.stderr).toBe('');
      expect(run.signal).toBe('SIGKILL');
      expect(run.start).toBeGreaterThan(maxAcked);
      for (const [, last] of run.acked) maxAcked = Math.max(maxAcked, last);
      lastCommit = Math.max(lastCommit, ...run.commits);
      const { log, recs } = await openAndReadAll(dir, 'consumer');
      try {
        const s = log.stats();
        const committed = s.sinks['consumer']?.committed ?? 0;
        // Never ahead of what the consumer committed, never behind what an earlier life wrote.
        expect(committed).toBeLessThanOrEqual(lastCommit);
        expect(committed).toBeGreaterThanOrEqual(written);
        written = committed;
        expect(s.first_id - 1).toBeLessThanOrEqual(committed);
        expectIntactAndIncreasing(recs);
        const present = new Set(recs.map((r) => r.id));
        for (const [first, last] of run.acked)
          for (let id = Math.max(first, committed + 1); id <= last; id++) if (!present.has(id)) expect.fail(`acknowledged record ${id} after the written cursor ${committed} is missing after kill ${k + 1}`);
      } finally {
        await log.close();
      }
    }
    expect(lastCommit).toBeGreaterThan(0);
  }, 120_000);

  it('recovers from torn tails and flipped bytes: cuts, skips and counts exactly, never fails', async () => {
    const base = join(workDir, 'log');
    // A sink that has read nothing sees every record still on disk: the reference set.
    const { log: ref, recs: all } = await openAndReadAll(base, 'audit');
    await ref.close();
    expectIntactAndIncreasing(all);
    const allIds = all.map((r) => r.id);
    const allSet = new Set(allIds);
    expect(allIds.length).toBeGreaterThan(100);
    console.log(`crash test: ${allIds.length} records in ${(await readdir(base)).filter((n) => n.endsWith('.seg')).length} segments`);
    const segNames = (await readdir(base)).filter((n) => n.endsWith('.seg')).sort();
    expect(segNames.length).toBeGreaterThan(2);
    const sizes = await Promise.all(segNames.map(async (n) => (await stat(join(base, n))).size));

    const damage = fc.record({
      cutLast: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      flips: fc.array(fc.tuple(fc.nat(segNames.length - 1), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })), {
        maxLength: 4,
      }),
    });
    const seed = Date.now();
    const trials = fc.sample(damage, { numRuns: 14, seed });
    trials.push({ cutLast: 0.5, flips: [] }, { cutLast: undefined, flips: [[0, 0.5], [segNames.length - 2, 0.99]] });

    for (const [t, trial] of trials.entries()) {
      const dir = join(workDir, `damaged-${t}`);
      await cp(base, dir, { recursive: true });
      for (const [si, at] of trial.flips) {
        const path = join(dir, segNames[si] as string);
        const b = await readFile(path);
        const off = Math.floor(at * b.length);
        b[off] = (b[off] as number) ^ (1 << (off % 8));
        await writeFile(path, b);
      }
      const lastName = segNames[segNames.length - 1] as string;
      if (trial.cutLast !== undefined) await truncate(join(dir, lastName), Math.floor(trial.cutLast * (sizes[sizes.length - 1] as number)));

      const { log, recs } = await openAndReadAll(dir, 'audit');
      try {
        expectIntactAndIncreasing(recs);
        const got = new Set(recs.map((r) => r.id));
        for (const id of got) if (!allSet.has(id)) expect.fail(`record ${id} was invented`);
        const lost = allIds.filter((id) => !got.has(id));
        // Lost in sealed segments, or before the last record read from the last segment: counted
        // as corrupt. After that: the torn tail, cut at open.
        const lastBase = Number(lastName.slice(0, 20));
        const lastReadInLast = Math.max(0, ...recs.filter((r) => r.id >= lastBase).map((r) => r.id));
        const lostMid = lost.filter((id) => id < lastBase || id < lastReadInLast);
        const s = log.stats();
        const label = `seed ${seed} trial ${t} ${JSON.stringify(trial)}`;
        expect(s.corrupt_records, label).toBe(lostMid.length);
        expect(lostMid.length, label).toBeLessThanOrEqual(trial.flips.length);
        if (trial.cutLast === undefined && trial.flips.length === 0) expect(lost, label).toEqual([]);
        // The log goes on: the next append is durable and readable.
        await log.commit('audit', Math.min(recs[recs.length - 1]?.id ?? 0, s.last_id));
        const id = log.nextId;
        expect(await log.append(uplinkFor(id))).toBe(id);
        const after = await log.reader('audit').read(10);
        expect(after.map((x) => x.id), label).toEqual([id]);
        expect(isUplinkFor(id, after[0]?.value), label).toBe(true);
      } finally {
        await log.close();
      }
    }
  });
});
