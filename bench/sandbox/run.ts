/**
 * Sandboxed codec throughput: `node --import tsx bench/sandbox/run.ts [--seconds 1] [--runs 5]`
 *
 * Decodes of the EX-10 fixture (a typical 10-byte TTN-style codec script,
 * codecs/sandbox/fixtures/ttn-es5.js), measured in the same process, interleaved run by run so
 * load on a shared machine hits every mode alike:
 *
 * - sandbox: `loadScriptCodec` + `forDevice` — what the gateway does: each call sees the
 *   script as freshly loaded (EX-10 gets the reused context: its top-level code runs again per
 *   call inside a wrapper; scripts reaching the global object get a fresh context per call),
 *   in the sandbox thread, and passes only the JSON input;
 * - fresh context (ChirpStack's approach): a new QuickJS runtime and context per call, the
 *   script evaluated on every call, with the same memory and stack limits and an interrupt
 *   deadline, on the calling thread (no thread hop, so the most favourable form of it);
 * - fresh context + Buffer: the same, also evaluating the sandbox's Buffer per call, as
 *   ChirpStack v4 imports its Buffer library for every invocation;
 * - native: the same decoder in TypeScript, for scale.
 *
 * On the fresh-context path, the next context is prepared by the sandbox thread after each
 * reply, so back-to-back calls pay for that preparation and calls that come a few milliseconds
 * apart, as uplinks do, find it done. The latency part measures how long the host waits per
 * call in both patterns.
 *
 * Rates are given by wall clock and per CPU-second of the process (all threads; the host thread
 * sleeps while the sandbox thread works): on a shared machine the second is what one idle core
 * would do. Prints a markdown table (medians of the runs), then one JSON line with the figures.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSWASMModule } from 'quickjs-emscripten';
import { decodeEx10 } from '../../codecs/sandbox/ex10.native.ts';
import { loadScriptCodec } from '../../codecs/sandbox/index.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

const SECONDS = arg('seconds', 1);
const RUNS = arg('runs', 5);
const SCRIPT = readFileSync(new URL('../../codecs/sandbox/fixtures/ttn-es5.js', import.meta.url), 'utf8');
const BUFFER = readFileSync(new URL('../../codecs/sandbox/vm/buffer.js', import.meta.url), 'utf8');
const MEMORY_LIMIT = 16 * 1024 * 1024;
const STACK_LIMIT = 256 * 1024;
/** Generous, so the baseline measures throughput rather than timeouts on a busy machine. */
const TIMEOUT_MS = 1000;

/** 64 different frames, so no mode can benefit from repeating one input. */
const FRAMES: number[][] = Array.from({ length: 64 }, (_, i) => [1, i, 2 * i, 0xff - i, 3 * i, 90, 0x0c, i, i & 7, i]);

interface Rate {
  /** Calls per wall-clock second. */
  wall: number;
  /** Calls per CPU second of the whole process (all threads): what one idle core would do. */
  cpu: number;
}

/** Calls `step` for `seconds`; the rate by wall clock and by the process's CPU time. */
function measure(seconds: number, step: (i: number) => void): Rate {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 16; k++) step(n++);
  }
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  return { wall: n / wall, cpu: n / ((used.user + used.system) / 1e6) };
}

/** ChirpStack's model: everything fresh for every call. */
function freshContextDecode(quickjs: QuickJSWASMModule, bytes: number[], withBuffer: boolean): string {
  const rt = quickjs.newRuntime();
  rt.setMemoryLimit(MEMORY_LIMIT);
  rt.setMaxStackSize(STACK_LIMIT);
  const deadline = performance.now() + TIMEOUT_MS;
  rt.setInterruptHandler(() => performance.now() > deadline);
  const ctx = rt.newContext();
  try {
    if (withBuffer) ctx.unwrapResult(ctx.evalCode(BUFFER, 'buffer.js', { type: 'global' })).dispose();
    ctx.unwrapResult(ctx.evalCode(SCRIPT, 'codec.js', { type: 'global' })).dispose();
    const call = `JSON.stringify(decodeUplink(${JSON.stringify({ bytes, fPort: 1 })}))`;
    const result = ctx.unwrapResult(ctx.evalCode(call, 'call.js', { type: 'global' }));
    const json = ctx.getString(result);
    result.dispose();
    return json;
  } finally {
    ctx.dispose();
    rt.dispose();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
  const codec = await loadScriptCodec(SCRIPT, { id: 'bench/ex10', name: 'EX-10', category: 'bin-fill', fPorts: [1] });
  const device = codec.forDevice('bench-device');

  // The modes agree before anything is timed.
  for (const bytes of FRAMES) {
    const expected = JSON.stringify(decodeEx10(bytes, 1).data);
    const sandboxed = JSON.stringify(device.decodeUplink({ bytes, fPort: 1 }).data);
    const fresh = JSON.stringify((JSON.parse(freshContextDecode(quickjs, bytes, false)) as { data: unknown }).data);
    if (sandboxed !== expected || fresh !== expected) throw new Error(`modes disagree on ${JSON.stringify(bytes)}`);
  }

  const modes: Record<string, (i: number) => void> = {
    sandbox: (i) => {
      device.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 });
    },
    fresh: (i) => {
      freshContextDecode(quickjs, FRAMES[i & 63] as number[], false);
    },
    freshBuffer: (i) => {
      freshContextDecode(quickjs, FRAMES[i & 63] as number[], true);
    },
    native: (i) => {
      decodeEx10(FRAMES[i & 63] as number[], 1);
    },
  };
  // Warm-up: WebAssembly tiers up and V8 optimizes the host code.
  for (const step of Object.values(modes)) measure(Math.min(1, SECONDS), step);

  const results: Record<string, Rate[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [name, step] of Object.entries(modes)) (results[name] ??= []).push(measure(SECONDS, step));
  }
  const med = (name: string, key: keyof Rate): number => median((results[name] ?? []).map((r) => r[key]));
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const row = (label: string, name: string): string =>
    `| ${label} | ${fmt(med(name, 'wall'))} | ${(med(name, 'wall') / med('fresh', 'wall')).toFixed(1)}× | ` +
    `${fmt(med(name, 'cpu'))} | ${(med(name, 'cpu') / med('fresh', 'cpu')).toFixed(1)}× |`;
  const sandboxWall = med('sandbox', 'wall');
  const sandboxCpu = med('sandbox', 'cpu');
  const speedWall = sandboxWall / med('fresh', 'wall');
  const speedCpu = sandboxCpu / med('fresh', 'cpu');
  const lines = [
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), Node ${process.version}, ` +
      `load average ${os.loadavg()[0]?.toFixed(2)} at the end; median of ${RUNS} runs of ${SECONDS} s per mode, modes interleaved.`,
    '',
    '| mode | decodes/s (wall clock) | vs fresh | decodes per CPU-second (all threads) | vs fresh |',
    '|---|---:|---:|---:|---:|',
    row('sandbox: post-load state for every call (lorawan-edge: reused context, top-level code run per call)', 'sandbox'),
    row("fresh runtime + context per call, script evaluated per call (ChirpStack's approach)", 'fresh'),
    row('fresh runtime + context per call, Buffer + script evaluated per call (as ChirpStack v4)', 'freshBuffer'),
    row('native TypeScript decoder (for scale)', 'native'),
    '',
    `Against the fresh-context baseline: ${speedWall.toFixed(1)}× by wall clock, ${speedCpu.toFixed(1)}× by CPU time ` +
      `(against fresh context + Buffer, ChirpStack v4's actual per-call work: ` +
      `${(sandboxWall / med('freshBuffer', 'wall')).toFixed(0)}× / ${(sandboxCpu / med('freshBuffer', 'cpu')).toFixed(0)}×); ` +
      `sandbox ${fmt(sandboxWall)}/s by wall clock, ${fmt(sandboxCpu)} per CPU-second.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'sandbox',
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      node: process.version,
      loadavg: os.loadavg()[0],
      runs: RUNS,
      seconds: SECONDS,
      decodesPerSecond: Object.fromEntries(Object.keys(modes).map((k) => [k, Math.round(med(k, 'wall'))])),
      decodesPerCpuSecond: Object.fromEntries(Object.keys(modes).map((k) => [k, Math.round(med(k, 'cpu'))])),
      speedupVsFresh: { wall: Number(speedWall.toFixed(1)), cpu: Number(speedCpu.toFixed(1)) },
      speedupVsFreshWithBuffer: {
        wall: Number((sandboxWall / med('freshBuffer', 'wall')).toFixed(1)),
        cpu: Number((sandboxCpu / med('freshBuffer', 'cpu')).toFixed(1)),
      },
    })}\n`,
  );
  // Latency as the gateway sees it: uplinks arrive milliseconds apart, so the sandbox thread has
  // prepared the next context before the next call. Host-blocked time per call, median and p95.
  const gap = new Int32Array(new SharedArrayBuffer(4));
  const latency = (gapMs: number): { median: number; p95: number } => {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      if (gapMs > 0) Atomics.wait(gap, 0, 0, gapMs);
      const t = performance.now();
      device.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 });
      times.push((performance.now() - t) * 1000);
    }
    times.sort((a, b) => a - b);
    return { median: median(times), p95: times[Math.floor(times.length * 0.95)] as number };
  };
  const spaced = latency(5);
  const backToBack = latency(0);
  process.stdout.write(
    `Host-blocked time per sandboxed call: ${spaced.median.toFixed(0)} µs median, ${spaced.p95.toFixed(0)} µs p95 with calls 5 ms apart; ` +
      `${backToBack.median.toFixed(0)} µs median, ${backToBack.p95.toFixed(0)} µs p95 back to back.\n` +
      `${JSON.stringify({ bench: 'sandbox-latency', spacedUs: spaced, backToBackUs: backToBack })}\n`,
  );
  codec.dispose();
}

await main();
