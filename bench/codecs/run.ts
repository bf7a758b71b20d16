/**
 * bench/codecs: decodes per second per codec, and the cost of one decode relative to
 * `JSON.parse` of the ChirpStack v4 `up` event that would carry the same payload (the example
 * event of chirpstack-integration.md §4, with `data`/`fPort` replaced and no `object`), measured
 * in the same run (timed windows alternating between decode and parse) so the ratio holds on any
 * machine. Goal: every codec < 20 % of that parse.
 *
 *   node --import tsx bench/codecs/run.ts [--runs 5] [--ms 300] [--codec <vendor/id>]…
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import type { Codec } from '../../codecs/api.ts';
import { fromHex } from '../../codecs/bytes.ts';
import type { ExampleFile } from '../../codecs/examples.ts';
import { CODECS_DIR } from '../../codecs/location.ts';
import { NATIVE_CODECS } from '../../codecs/registry.ts';
import { sharedPath } from '../../codecs/testing/paths.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, ms: { type: 'string', default: '300' }, codec: { type: 'string', multiple: true } },
});
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

/** Calls per timed window of about MS for fn (after warming it up). */
function batchSize(fn: () => unknown, loop: Loop): number {
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    sink ^= loop(fn, batch);
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt > 20) return Math.max(1, Math.round((batch * MS) / dt));
    batch *= 2;
  }
}

/** CPU nanoseconds of this process (all its threads, so the garbage collector's helpers count too). */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/**
 * CPU nanoseconds per call of each fn, median of RUNS timed windows of about MS each. CPU time,
 * not wall-clock time: on a shared, loaded machine a window's wall time mostly measures how long
 * the process waited for a core. The windows of the functions alternate (a, b, c, a, b, c, …), so
 * what load still changes (caches, frequency) affects all of them alike and their ratio stays fair.
 */
function nsPerOp(fns: readonly (() => unknown)[]): number[] {
  const loops = fns.map(makeLoop);
  const batches = fns.map((fn, f) => batchSize(fn, loops[f] as Loop));
  const samples = fns.map((): number[] => []);
  // The first windows are not counted: optimizing compilers and the garbage collector run on
  // other threads of the process, and CPU time charges their warm-up work to those windows.
  for (let r = -WARMUP_WINDOWS; r < RUNS; r++) {
    for (let f = 0; f < fns.length; f++) {
      const batch = batches[f] as number;
      const t0 = cpuNs();
      sink ^= (loops[f] as Loop)(fns[f] as () => unknown, batch);
      if (r >= 0) (samples[f] as number[]).push((cpuNs() - t0) / batch);
    }
  }
  return samples.map((list) => {
    list.sort((a, b) => a - b);
    return list[Math.floor(list.length / 2)] as number;
  });
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

const template = referenceUpEvent();
const rows: Row[] = [];
for (const codec of NATIVE_CODECS) {
  if (values.codec && !values.codec.includes(codec.id)) continue;
  const row = benchCodec(codec, template);
  if (row) rows.push(row);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)} %`;
const lines = [
  `machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}; median of ${RUNS} runs of ~${MS} ms, CPU time`,
  '',
  '| codec | avg payload B | decodes/s | ns/decode | decode+normalize ns | JSON.parse(up event) ns | decode / parse | goal < 20 % |',
  '|---|---:|---:|---:|---:|---:|---:|:---:|',
  ...rows.map(
    (r) =>
      `| ${r.codec} | ${r.bytes} | ${fmt(1e9 / r.decodeNs)} | ${fmt(r.decodeNs)} | ${fmt(r.decodeNormNs)} | ${fmt(r.parseNs)} | ${pct(r.decodeNs, r.parseNs)} | ${r.decodeNs / r.parseNs < 0.2 ? 'yes' : 'NO'} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
if (sink === 42) process.stdout.write('\n');
process.exitCode = rows.every((r) => r.decodeNs / r.parseNs < 0.2) ? 0 : 1;
