/**
 * bench/codecs: decodes per second per codec, and the cost of one decode relative to
 * `JSON.parse` of the ChirpStack v4 `up` event that would carry the same payload (the example
 * event of chirpstack-integration.md §4, with `data`/`fPort` replaced and no `object`), measured
 * in the same process (timed windows alternating between decode and parse) so the ratio holds on
 * any machine. Goal: every codec < 20 % of that parse.
 *
 *   node --import tsx bench/codecs/run.ts [--rounds 3] [--runs 5] [--ms 200] [--codec <vendor/id>]…
 *
 * Each codec is measured in `--rounds` fresh child processes (the codecs in turn, round after
 * round), and the table gives the median of the rounds with the spread (lowest–highest) of the
 * decode / parse ratio. Why a process per codec and round: one process's JIT and garbage-collector
 * state (which functions got optimized, inlined or pretenured; what earlier codecs left on the
 * heap and in the shared wrapper's feedback) stays for its whole life, so the windows inside one
 * process agree with each other while a second process can land 1.5–3× away (the flowIQ figure
 * was seen at 45–97 % and rarely above 500 % that way). Rounds in separate processes sample that
 * state; the median of them is what a change is judged by, the spread says how far to trust it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Codec } from '../../codecs/api.ts';
import { fromHex } from '../../codecs/bytes.ts';
import type { ExampleFile } from '../../codecs/examples.ts';
import { CODECS_DIR } from '../../codecs/location.ts';
import { NATIVE_CODECS } from '../../codecs/registry.ts';
import { sharedPath } from '../../codecs/testing/paths.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '5' },
    ms: { type: 'string', default: '200' },
    codec: { type: 'string', multiple: true },
    // internal: measure one codec in this process and print its row as JSON
    child: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const RUNS = Number(values.runs);
const MS = Number(values.ms);

/** The `up` event example from the reference, as an object. */
function referenceUpEvent(): Record<string, unknown> {
  const md = readFileSync(sharedPath('reference', 'chirpstack-integration.md'), 'utf8');
  const at = md.indexOf('**Example 1: `up`**');
  const start = md.indexOf('```json', at) + '```json'.length;
  const end = md.indexOf('```', start);
  return JSON.parse(md.slice(start, end)) as Record<string, unknown>;
}

/** The median of a non-empty list. */
function median(list: readonly number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const WARMUP_WINDOWS = 2;

let sink = 0; // keeps results alive so the JIT cannot drop the work

type Loop = (fn: () => unknown, n: number) => number;

/**
 * A timing loop of its own for one measured function. One shared loop saw every measured
 * function at its call site: V8 inlined one, deoptimized ("wrong map") when the next window
 * called another, and the windows then timed whatever tier the loop was in — decode times of one
 * codec varied 10× between runs. A `new Function` has its own feedback, so each loop stays
 * monomorphic.
 */
function makeLoop(): Loop {
  return new Function('fn', 'n', 'let s = 0; for (let i = 0; i < n; i++) s ^= fn() ? 1 : 0; return s;') as Loop;
}

/** CPU nanoseconds of this process (all its threads, so the garbage collector's helpers count too). */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Wall-clock milliseconds since `t0` (a process.hrtime.bigint() value). */
function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Runs fn for about MS ms (the first calls compile and fill caches), then returns the calls per
 * chunk: a chunk takes ≥ 5 ms, so reading the clock between chunks costs nothing. The chunk is
 * sized only after that warm-up: sized from the very first calls (interpreted, compiling,
 * creating a time-zone formatter) it came out at a few calls, and a window of a few calls then
 * mostly timed the compiler threads — the 100 µs+ "calls" behind flowIQ's rare 500 % runs.
 */
function chunkSize(fn: () => unknown, loop: Loop): number {
  const warm = process.hrtime.bigint();
  for (let n = 1; msSince(warm) < MS; n = Math.min(2 * n, 1 << 20)) sink ^= loop(fn, n);
  let chunk = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    sink ^= loop(fn, chunk);
    if (msSince(t0) >= 5 || chunk >= 1 << 24) return chunk;
    chunk *= 2;
  }
}

/** CPU nanoseconds per call of fn over one window: whole chunks until the window has used MS ms of CPU. */
function timedWindow(fn: () => unknown, loop: Loop, chunk: number): number {
  const t0 = cpuNs();
  let calls = 0;
  let used = 0;
  do {
    sink ^= loop(fn, chunk);
    calls += chunk;
    used = cpuNs() - t0;
  } while (used < MS * 1e6);
  return used / calls;
}

/**
 * CPU nanoseconds per call of each fn, median of RUNS timed windows of at least MS ms of CPU
 * each. CPU time, not wall-clock time: on a shared, loaded machine a window's wall time mostly
 * measures how long the process waited for a core. The windows of the functions alternate (a, b,
 * c, a, b, c, …), so what load still changes (caches, frequency) affects all of them alike and
 * their ratio stays fair.
 */
function nsPerOp(fns: readonly (() => unknown)[]): number[] {
  const loops = fns.map(makeLoop);
  const chunks = fns.map((fn, f) => chunkSize(fn, loops[f] as Loop));
  const samples = fns.map((): number[] => []);
  // The first windows are not counted: optimizing compilers and the garbage collector run on
  // other threads of the process, and CPU time charges their warm-up work to those windows.
  for (let r = -WARMUP_WINDOWS; r < RUNS; r++) {
    for (let f = 0; f < fns.length; f++) {
      const ns = timedWindow(fns[f] as () => unknown, loops[f] as Loop, chunks[f] as number);
      if (r >= 0) (samples[f] as number[]).push(ns);
    }
  }
  return samples.map(median);
}

interface Row {
  codec: string;
  bytes: number;
  decodeNs: number;
  decodeNormNs: number;
  parseNs: number;
}

function benchCodec(codec: Codec, template: Record<string, unknown>): Row | undefined {
  const file = JSON.parse(readFileSync(`${CODECS_DIR}/${codec.id}/examples.json`, 'utf8')) as ExampleFile;
  const examples = (file.examples ?? []).filter((e) => e.expected !== null);
  const inputs = examples.map((e) => ({ bytes: fromHex(e.bytesHex) as Uint8Array, fPort: e.fPort, variables: e.variables ?? { container_depth_mm: 1200 } }));
  if (inputs.length === 0) return undefined;
  const recvTime = new Date();
  const events = inputs.map((inp) => {
    const { object: _object, ...rest } = template;
    return JSON.stringify({ ...rest, fPort: inp.fPort, data: Buffer.from(inp.bytes).toString('base64') });
  });
  let k = 0;
  let p = 0;
  const [decodeNs, parseNs] = nsPerOp([
    () => {
      const inp = inputs[k++ % inputs.length]!;
      return codec.decodeUplink({ bytes: inp.bytes, fPort: inp.fPort, recvTime, variables: inp.variables });
    },
    () => JSON.parse(events[p++ % events.length]!) as unknown,
  ]) as [number, number];
  k = 0;
  const [decodeNormNs] = nsPerOp([
    () => {
      const inp = inputs[k++ % inputs.length]!;
      const r = codec.decodeUplink({ bytes: inp.bytes, fPort: inp.fPort, recvTime, variables: inp.variables });
      return r.data ? codec.normalizeUplink(r.data, { variables: inp.variables, recvTime }) : r;
    },
  ]) as [number];
  const avgBytes = Math.round(inputs.reduce((s, i) => s + i.bytes.length, 0) / inputs.length);
  return { codec: codec.id, bytes: avgBytes, decodeNs, decodeNormNs, parseNs };
}

/** One codec measured in a fresh process (see the header): its row, or undefined without examples. */
function measureInChild(id: string): Row | undefined {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', '--codec', id, '--runs', String(RUNS), '--ms', String(MS)];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child for ${id} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const out = r.stdout.trim();
  return out === '' ? undefined : (JSON.parse(out) as Row);
}

if (values.child) {
  const id = values.codec?.[0];
  const codec = NATIVE_CODECS.find((c) => c.id === id);
  if (!codec) throw new Error(`--child needs the --codec of a native codec, got ${String(id)}`);
  const row = benchCodec(codec, referenceUpEvent());
  process.stdout.write(row ? `${JSON.stringify(row)}\n` : '');
  if (sink === 42) process.stderr.write('\n');
} else {
  const ids = NATIVE_CODECS.map((c) => c.id).filter((id) => !values.codec || values.codec.includes(id));
  const samples = new Map<string, Row[]>(ids.map((id) => [id, []]));
  const loadBefore = loadavg()[0] as number;
  for (let round = 0; round < ROUNDS; round++) {
    for (const id of ids) {
      const row = measureInChild(id);
      if (row) samples.get(id)?.push(row);
    }
  }
  const loadAfter = loadavg()[0] as number;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const pct = (ratio: number): string => `${(100 * ratio).toFixed(1)} %`;
  const lines = [
    `machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}; ${ROUNDS} rounds (a fresh process per codec and round) of the median of ${RUNS} windows of ~${MS} ms, CPU time; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    '',
    '| codec | avg payload B | decodes/s | ns/decode | decode+normalize ns | JSON.parse(up event) ns | decode / parse (median) | spread of rounds | goal < 20 % |',
    '|---|---:|---:|---:|---:|---:|---:|---:|:---:|',
  ];
  let allMet = true;
  for (const [id, rows] of samples) {
    if (rows.length === 0) continue;
    const ratios = rows.map((r) => r.decodeNs / r.parseNs);
    const ratio = median(ratios);
    const decodeNs = median(rows.map((r) => r.decodeNs));
    allMet &&= ratio < 0.2;
    lines.push(
      `| ${id} | ${rows[0]?.bytes ?? 0} | ${fmt(1e9 / decodeNs)} | ${fmt(decodeNs)} | ${fmt(median(rows.map((r) => r.decodeNormNs)))} | ${fmt(median(rows.map((r) => r.parseNs)))} | ${pct(ratio)} | ${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))} | ${ratio < 0.2 ? 'yes' : 'NO'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = allMet ? 0 : 1;
}
