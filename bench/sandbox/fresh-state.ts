/**
 * What per-call fresh post-load state costs, by approach:
 * `node --import tsx bench/sandbox/fresh-state.ts [--seconds 1] [--runs 5]`
 *
 * Issue 11 asks for TTS semantics (every call sees the script as freshly loaded) at close to
 * the speed of one persistent context. This measures, in one process, interleaved run by run,
 * on the calling thread (no sandbox thread, so the engine costs alone), for the EX-10 fixture:
 *
 * - sandbox (reused context): the engine's default since session 5 (`loadScriptCodec` +
 *   `forDevice`): one context per script holding the script as the body of a wrapper function,
 *   run again at the start of every call, and the state guard after each call (CPU of all
 *   threads counted);
 * - sandbox (fresh context): the engine before, `freshState: 'context'`: a fresh post-load
 *   context per call, prepared on the sandbox thread after each reply;
 * - the same two for the ES2015 EX-10 (`fixtures/ttn-es2015.js`: a class using `this`), which
 *   the source scan sent to the fresh path before session 6 and now lets reuse its context;
 * - wrapper: the same wrapper on the calling thread (one context, the top-level code run
 *   again per call), without and with the state guard (vm/state-guard.js) after each call;
 * - persistent: one context, the script loaded once, state kept (today's speed before fresh
 *   state; NOT TTS semantics, the upper bound);
 * - restore: one context, and after each call the script's own globals are put back as they
 *   were after load (new globals deleted, each global's value and every property of the
 *   plain objects/arrays reachable from them reassigned from a snapshot taken after load);
 *   closure variables and internal slots (Map, typed arrays, Date) are NOT restored;
 * - fingerprint: one context, and after each call the same reachable state is compared with
 *   the snapshot (no writes); a real engine would rebuild the context when it differs;
 * - fresh context, shared runtime: a new context per call on one runtime, script evaluated;
 * - fresh runtime + context: ChirpStack's approach.
 *
 * Bytecode is not measured: this build's `evalCode(…, { compileOnly: true })` returns a bytecode
 * object that can neither be run (no JS_EvalFunction in the FFI: calling it is "not a
 * function") nor serialized (`encodeBinaryJSON` refuses it), so there is no precompiled load.
 *
 * It also checks the `var pointer = 0` case (comtac/lpn-km): restore must give 1 on every call.
 * Then, once each: the cost of checking every built-in for changes after a call, and of
 * restoring a snapshot of the WebAssembly memory. Prints a markdown table of medians and JSON.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { loadScriptCodec } from '../../codecs/sandbox/index.ts';
import { reuseVerdict } from '../../codecs/sandbox/reuse-scan.mjs';
import { newQuickJSWASMModule, RELEASE_SYNC, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const SECONDS = arg('seconds', 1);
const RUNS = arg('runs', 5);
const SCRIPT = readFileSync(new URL('../../codecs/sandbox/fixtures/ttn-es5.js', import.meta.url), 'utf8');
/** EX-10 written with a class (`this`, private and arrow fields), Map, DataView: fresh path before session 6. */
const SCRIPT_ES2015 = readFileSync(new URL('../../codecs/sandbox/fixtures/ttn-es2015.js', import.meta.url), 'utf8');
const POINTER = 'var pointer = 0; var seen = { n: 0 }; function decodeUplink(input) { pointer++; seen.n++; return { data: { pointer: pointer, n: seen.n } }; }';
const FRAMES: number[][] = Array.from({ length: 64 }, (_, i) => [1, i, 2 * i, 0xff - i, 3 * i, 90, 0x0c, i, i & 7, i]);

/**
 * Evaluated in a bare context: a snapshot of every object reachable from the global object
 * (the built-ins: their own keys, descriptors, prototypes and extensibility), and `same`,
 * which compares them. This is what a dirty check would need to see a call that changed a
 * built-in (`Math.floor = …`, a getter on `Object.prototype`), which fingerprinting the
 * script's own globals cannot see.
 */
const INTRINSIC_CHECK = `(function () {
  var G = globalThis, ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor, getProto = Object.getPrototypeOf, isExt = Object.isExtensible;
  var objs = [], flat = [];
  function visit(o, seen) {
    if (seen.has(o)) return;
    seen.add(o);
    var ks = ownKeys(o);
    objs.push(o, ks.length, getProto(o), isExt(o));
    for (var i = 0; i < ks.length; i++) {
      var d = gopd(o, ks[i]);
      flat.push(o, ks[i], d.value, d.get, d.set, d.writable, d.enumerable, d.configurable);
      if (d.value !== null && (typeof d.value === 'object' || typeof d.value === 'function')) visit(d.value, seen);
      if (d.get) visit(d.get, seen);
      if (d.set) visit(d.set, seen);
    }
    var p = getProto(o);
    if (p !== null) visit(p, seen);
  }
  visit(G, new Set());
  return {
    size: objs.length / 4 + ' objects, ' + flat.length / 8 + ' properties',
    same: function () {
      for (var i = 0; i < objs.length; i += 4) { var o = objs[i]; if (ownKeys(o).length !== objs[i + 1] || getProto(o) !== objs[i + 2] || isExt(o) !== objs[i + 3]) return false; }
      for (var j = 0; j < flat.length; j += 8) {
        var d = gopd(flat[j], flat[j + 1]);
        if (d.value !== flat[j + 2] && !(d.value !== d.value && flat[j + 2] !== flat[j + 2])) return false;
        if (d.get !== flat[j + 3] || d.set !== flat[j + 4] || d.writable !== flat[j + 5] || d.enumerable !== flat[j + 6] || d.configurable !== flat[j + 7]) return false;
      }
      return true;
    }
  };
})()`;

/** µs per call of `step`, over `n` calls. */
function microseconds(n: number, step: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  return ((performance.now() - t0) / n) * 1000;
}

/**
 * The two other ways to fresh state, measured once each:
 * - intrinsics: the cost of checking every built-in for changes after a call (above);
 * - memory snapshot: copying the WebAssembly memory back after a call (byte-exact, so correct:
 *   the `var pointer = 0` case gives 1 every time), for the whole memory and for the prefix up
 *   to its last non-zero byte after load (this build exports no sbrk to know the heap's end).
 */
async function oneOffCosts(): Promise<Record<string, number | string | boolean>> {
  const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
  const ctx = quickjs.newContext();
  const check = ctx.unwrapResult(ctx.evalCode(INTRINSIC_CHECK, 'intrinsics.js', { type: 'global' }));
  const size = ctx.getProp(check, 'size').consume((h) => ctx.getString(h));
  const same = ctx.getProp(check, 'same');
  const intrinsicCheckUs = microseconds(100, () => ctx.unwrapResult(ctx.callFunction(same, check)).dispose());
  ctx.unwrapResult(ctx.evalCode('Math.floor = function () { return 0; }', 'change.js')).dispose();
  const seesChange = ctx.unwrapResult(ctx.callFunction(same, check)).consume((h) => ctx.dump(h) === false);
  same.dispose();
  check.dispose();
  ctx.dispose();

  // A module of its own, so its memory holds one context only.
  const mod = (await newQuickJSWASMModule(RELEASE_SYNC)) as QuickJSWASMModule & { module: { HEAPU8: Uint8Array } };
  const sctx = mod.newContext();
  sctx.unwrapResult(sctx.evalCode(POINTER, 'codec.js', { type: 'global' })).dispose();
  const fn = sctx.unwrapResult(sctx.evalCode('(function (j) { return JSON.stringify(decodeUplink(JSON.parse(j))); })', 'call.js'));
  const heap = (): Uint8Array => mod.module.HEAPU8;
  const snapshot = heap().slice();
  let top = snapshot.length - 1;
  while (top > 0 && snapshot[top] === 0) top--;
  const prefix = snapshot.subarray(0, top + 1);
  let snapshotCorrect = true;
  for (let i = 0; i < 5; i++) {
    const a = sctx.newString('{"bytes":[1],"fPort":1}');
    const out = sctx.unwrapResult(sctx.callFunction(fn, sctx.undefined, a)).consume((h) => sctx.getString(h));
    a.dispose();
    if (out !== '{"data":{"pointer":1,"n":1}}') snapshotCorrect = false;
    heap().set(prefix);
  }
  const fullUs = microseconds(200, () => heap().set(snapshot));
  const prefixUs = microseconds(200, () => heap().set(prefix));
  fn.dispose();
  sctx.dispose();
  return {
    intrinsics: size,
    intrinsicCheckUs: Math.round(intrinsicCheckUs),
    intrinsicCheckSeesChange: seesChange,
    memoryBytes: snapshot.length,
    usedPrefixBytes: prefix.length,
    snapshotCorrect,
    fullRestoreUs: Math.round(fullUs),
    prefixRestoreUs: Math.round(prefixUs),
  };
}

/**
 * Evaluated in the context before the script: captures the built-ins it uses, and returns
 * {mark, snap, restore, same}. `mark` records the global keys present before the script;
 * `snap` (after load) records every plain object/array reachable from the script's own
 * globals, property by property; `restore` puts them back; `same` compares without writing.
 */
const STATE_TOOLS = `(function () {
  var G = globalThis, ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor, has = Object.prototype.hasOwnProperty;
  var getProto = Object.getPrototypeOf, isArray = Array.isArray, OP = Object.prototype, AP = Array.prototype, FP = Function.prototype;
  var before = null, roots = [], objs = [], keys = [], vals = [];
  function plain(v) { if (v === null || typeof v !== 'object' && typeof v !== 'function') return false; var p = getProto(v); return p === OP || p === AP || p === FP || p === null; }
  function visit(o, seen) {
    if (seen.indexOf(o) >= 0) return; seen.push(o);
    var ks = ownKeys(o), vs = [];
    for (var i = 0; i < ks.length; i++) { var d = gopd(o, ks[i]); vs.push(d && 'value' in d ? d.value : d); if (d && 'value' in d && plain(d.value) && typeof d.value !== 'function') visit(d.value, seen); }
    objs.push(o); keys.push(ks); vals.push(vs);
  }
  return {
    mark: function () { before = ownKeys(G); },
    snap: function () {
      var seen = [];
      var gk = ownKeys(G);
      for (var i = 0; i < gk.length; i++) if (before.indexOf(gk[i]) < 0) roots.push(gk[i]);
      var rv = [];
      for (var j = 0; j < roots.length; j++) { var v = G[roots[j]]; rv.push(v); if (plain(v) && typeof v !== 'function') visit(v, seen); }
      objs.push(G); keys.push(roots); vals.push(rv);
    },
    restore: function () {
      var gk = ownKeys(G);
      for (var i = 0; i < gk.length; i++) if (before.indexOf(gk[i]) < 0 && roots.indexOf(gk[i]) < 0) delete G[gk[i]];
      for (var n = 0; n < objs.length; n++) {
        var o = objs[n], ks = keys[n], vs = vals[n];
        if (o !== G) { var now = ownKeys(o); for (var m = 0; m < now.length; m++) if (ks.indexOf(now[m]) < 0) delete o[now[m]]; }
        for (var k = 0; k < ks.length; k++) if (o[ks[k]] !== vs[k]) o[ks[k]] = vs[k];
      }
    },
    same: function () {
      var gk = ownKeys(G);
      if (gk.length !== before.length + roots.length) return false;
      for (var n = 0; n < objs.length; n++) {
        var o = objs[n], ks = keys[n], vs = vals[n];
        if (o !== G && ownKeys(o).length !== ks.length) return false;
        for (var k = 0; k < ks.length; k++) if (!has.call(o, ks[k]) || o[ks[k]] !== vs[k]) return false;
      }
      return true;
    }
  };
})()`;

const GUARD = readFileSync(new URL('../../codecs/sandbox/vm/state-guard.js', import.meta.url), 'utf8');

interface Wrapped {
  ctx: QuickJSContext;
  call: QuickJSHandle;
  check: QuickJSHandle | undefined;
}

/**
 * The engine's reused context reduced to its parts, on the calling thread: the script as the
 * body of an arrow function, run at the start of every call; with `guard`, the state guard
 * (snapshot before any script code ran) checked after every call.
 */
function wrappedContext(quickjs: QuickJSWASMModule, script: string, guard: boolean): Wrapped {
  const ctx = quickjs.newContext();
  let check: QuickJSHandle | undefined;
  if (guard) {
    const verdict = reuseVerdict(script);
    if (!verdict.reuse) throw new Error(`the fixture takes the fresh path: ${verdict.reason}`);
    const setup = ctx.unwrapResult(ctx.evalCode(GUARD, 'state-guard.js', { type: 'global' }));
    const names = ctx.newString(JSON.stringify(verdict.names));
    check = ctx.unwrapResult(ctx.callFunction(setup, ctx.undefined, names));
    names.dispose();
    setup.dispose();
  }
  const loader = `(() => {${script}\n;return { decodeUplink: typeof decodeUplink === 'function' ? decodeUplink : undefined };})`;
  const call = ctx.unwrapResult(
    ctx.evalCode(`(function (load) { return function (json) { return JSON.stringify(load().decodeUplink(JSON.parse(json))); }; })(${loader})`, 'codec.js', { type: 'global' }),
  );
  return { ctx, call, check };
}

function callWrapped(w: Wrapped, bytes: number[]): string {
  const { ctx } = w;
  const arg = ctx.newString(JSON.stringify({ bytes, fPort: 1 }));
  const res = ctx.unwrapResult(ctx.callFunction(w.call, ctx.undefined, arg));
  arg.dispose();
  const json = ctx.getString(res);
  res.dispose();
  if (w.check) {
    const v = ctx.unwrapResult(ctx.callFunction(w.check, ctx.undefined));
    if (ctx.getNumber(v) !== 0) throw new Error('the state guard saw a change');
    v.dispose();
  }
  return json;
}

interface Reused {
  ctx: QuickJSContext;
  call: QuickJSHandle;
  tools: QuickJSHandle;
}

function reusedContext(quickjs: QuickJSWASMModule, script: string): Reused {
  const ctx = quickjs.newContext();
  const tools = ctx.unwrapResult(ctx.evalCode(STATE_TOOLS, 'tools.js', { type: 'global' }));
  ctx.getProp(tools, 'mark').consume((f) => ctx.unwrapResult(ctx.callFunction(f, tools)).dispose());
  ctx.unwrapResult(ctx.evalCode(script, 'codec.js', { type: 'global' })).dispose();
  ctx.getProp(tools, 'snap').consume((f) => ctx.unwrapResult(ctx.callFunction(f, tools)).dispose());
  const call = ctx.unwrapResult(ctx.evalCode('(function (json) { return JSON.stringify(decodeUplink(JSON.parse(json))); })', 'call.js', { type: 'global' }));
  return { ctx, call, tools };
}

function callReused(r: Reused, bytes: number[], after: 'none' | 'restore' | 'same'): string {
  const { ctx } = r;
  const arg = ctx.newString(JSON.stringify({ bytes, fPort: 1 }));
  const res = ctx.unwrapResult(ctx.callFunction(r.call, ctx.undefined, arg));
  arg.dispose();
  const json = ctx.getString(res);
  res.dispose();
  if (after !== 'none') {
    ctx.getProp(r.tools, after).consume((f) => {
      const s = ctx.unwrapResult(ctx.callFunction(f, r.tools));
      if (after === 'same' && ctx.dump(s) !== true) throw new Error('state changed');
      s.dispose();
    });
  }
  return json;
}

function freshDecode(quickjs: QuickJSWASMModule, shared: ReturnType<QuickJSWASMModule['newRuntime']> | undefined, bytes: number[]): string {
  const rt = shared ?? quickjs.newRuntime();
  const ctx = rt.newContext();
  try {
    ctx.unwrapResult(ctx.evalCode(SCRIPT, 'codec.js', { type: 'global' })).dispose();
    const res = ctx.unwrapResult(ctx.evalCode(`JSON.stringify(decodeUplink(${JSON.stringify({ bytes, fPort: 1 })}))`, 'call.js'));
    const json = ctx.getString(res);
    res.dispose();
    return json;
  } finally {
    ctx.dispose();
    if (!shared) rt.dispose();
  }
}

interface Rate { wall: number; cpu: number }
function measure(seconds: number, step: (i: number) => void): Rate {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) for (let k = 0; k < 16; k++) step(n++);
  const wall = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  return { wall: n / wall, cpu: n / ((used.user + used.system) / 1e6) };
}
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function main(): Promise<void> {
  const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
  // The `var pointer = 0` case: restore gives the post-load state on every call.
  const pointer = reusedContext(quickjs, POINTER);
  for (let i = 0; i < 5; i++) {
    const got = callReused(pointer, [i], 'restore');
    if (got !== '{"data":{"pointer":1,"n":1}}') throw new Error(`restore failed the pointer case: ${got}`);
  }
  // The same case through the wrapper: 1 on every call.
  const wrappedPointer = wrappedContext(quickjs, POINTER, true);
  for (let i = 0; i < 5; i++) {
    const got = callWrapped(wrappedPointer, [i]);
    if (got !== '{"data":{"pointer":1,"n":1}}') throw new Error(`the wrapper failed the pointer case: ${got}`);
  }
  const persistent = reusedContext(quickjs, SCRIPT);
  const wrapped = wrappedContext(quickjs, SCRIPT, false);
  const guarded = wrappedContext(quickjs, SCRIPT, true);
  const restored = reusedContext(quickjs, SCRIPT);
  const fingerprinted = reusedContext(quickjs, SCRIPT);
  const sharedRt = quickjs.newRuntime();
  for (const bytes of FRAMES) {
    const expected = freshDecode(quickjs, undefined, bytes);
    if (callReused(restored, bytes, 'restore') !== expected || callReused(fingerprinted, bytes, 'same') !== expected) throw new Error('modes disagree');
    if (callWrapped(wrapped, bytes) !== expected || callWrapped(guarded, bytes) !== expected) throw new Error('the wrapper disagrees');
  }
  const ex10 = { id: 'bench/ex10', name: 'EX-10', category: 'bin-fill', fPorts: [1] } as const;
  const codec = await loadScriptCodec(SCRIPT, ex10);
  if (codec.statePath()?.path !== 'reused-context') throw new Error(`EX-10 does not get a reused context: ${JSON.stringify(codec.statePath())}`);
  const freshCodec = await loadScriptCodec(SCRIPT, { ...ex10, id: 'bench/ex10-fresh', freshState: 'context' });
  const device = codec.forDevice('bench-device');
  const freshDevice = freshCodec.forDevice('bench-device');
  for (const bytes of FRAMES) {
    if (JSON.stringify(device.decodeUplink({ bytes, fPort: 1 })) !== JSON.stringify(freshDevice.decodeUplink({ bytes, fPort: 1 }))) throw new Error('the engine paths disagree');
  }
  const es2015 = await loadScriptCodec(SCRIPT_ES2015, { ...ex10, id: 'bench/ex10-es2015' });
  if (es2015.statePath()?.path !== 'reused-context') throw new Error(`the ES2015 EX-10 does not get a reused context: ${JSON.stringify(es2015.statePath())}`);
  const es2015Fresh = await loadScriptCodec(SCRIPT_ES2015, { ...ex10, id: 'bench/ex10-es2015-fresh', freshState: 'context' });
  const es2015Device = es2015.forDevice('bench-device');
  const es2015FreshDevice = es2015Fresh.forDevice('bench-device');
  for (const bytes of FRAMES) {
    if (JSON.stringify(es2015Device.decodeUplink({ bytes, fPort: 1 })) !== JSON.stringify(es2015FreshDevice.decodeUplink({ bytes, fPort: 1 }))) throw new Error('the ES2015 paths disagree');
  }
  const modes: Record<string, (i: number) => void> = {
    sandbox: (i) => void device.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 }),
    sandboxFresh: (i) => void freshDevice.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 }),
    sandboxEs2015: (i) => void es2015Device.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 }),
    sandboxEs2015Fresh: (i) => void es2015FreshDevice.decodeUplink({ bytes: FRAMES[i & 63] as number[], fPort: 1 }),
    wrapper: (i) => void callWrapped(wrapped, FRAMES[i & 63] as number[]),
    wrapperGuard: (i) => void callWrapped(guarded, FRAMES[i & 63] as number[]),
    persistent: (i) => void callReused(persistent, FRAMES[i & 63] as number[], 'none'),
    restore: (i) => void callReused(restored, FRAMES[i & 63] as number[], 'restore'),
    fingerprint: (i) => void callReused(fingerprinted, FRAMES[i & 63] as number[], 'same'),
    freshContext: (i) => void freshDecode(quickjs, sharedRt, FRAMES[i & 63] as number[]),
    freshRuntime: (i) => void freshDecode(quickjs, undefined, FRAMES[i & 63] as number[]),
  };
  for (const step of Object.values(modes)) measure(Math.min(1, SECONDS), step);
  const results: Record<string, Rate[]> = {};
  for (let run = 0; run < RUNS; run++) for (const [name, step] of Object.entries(modes)) (results[name] ??= []).push(measure(SECONDS, step));
  const med = (name: string, key: keyof Rate): number => median((results[name] ?? []).map((r) => r[key]));
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const labels: Record<string, string> = {
    sandbox: "the sandbox's default: one reused context, top-level code run per call, state guard (sandbox thread)",
    sandboxFresh: "the sandbox before (freshState: 'context'): a fresh post-load context per call (sandbox thread)",
    sandboxEs2015: 'ES2015 EX-10 (class, `this`): the reused context, which it gets since session 6 (sandbox thread)',
    sandboxEs2015Fresh: 'ES2015 EX-10: a fresh context per call, its path before session 6 (sandbox thread)',
    wrapper: 'one context + wrapper: top-level code run per call (calling thread)',
    wrapperGuard: 'one context + wrapper + state guard after each call (calling thread)',
    persistent: 'one persistent context (no fresh state; upper bound)',
    restore: 'one context + restore of the script globals after each call',
    fingerprint: 'one context + fingerprint check of the script globals after each call',
    freshContext: 'fresh context per call on a shared runtime',
    freshRuntime: 'fresh runtime + context per call (ChirpStack)',
  };
  console.log(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(2)}; median of ${RUNS} runs of ${SECONDS} s per mode, interleaved, calling thread only.\n`);
  console.log('| approach | decodes/s (wall) | decodes per CPU-second | vs fresh runtime (CPU) |');
  console.log('|---|---:|---:|---:|');
  for (const name of Object.keys(modes)) console.log(`| ${labels[name]} | ${fmt(med(name, 'wall'))} | ${fmt(med(name, 'cpu'))} | ${(med(name, 'cpu') / med('freshRuntime', 'cpu')).toFixed(1)}× |`);
  console.log(JSON.stringify(Object.fromEntries(Object.keys(modes).map((n) => [n, { wall: Math.round(med(n, 'wall')), cpu: Math.round(med(n, 'cpu')) }]))));
  const once = await oneOffCosts();
  console.log(`\nIntrinsic check after a call (${String(once.intrinsics)}): ${String(once.intrinsicCheckUs)} µs per call, sees a replaced Math.floor: ${String(once.intrinsicCheckSeesChange)}.`);
  console.log(`WebAssembly memory snapshot (${String(once.memoryBytes)} bytes, ${String(once.usedPrefixBytes)} up to the last non-zero byte): restore ${String(once.fullRestoreUs)} µs whole, ${String(once.prefixRestoreUs)} µs prefix; pointer case correct: ${String(once.snapshotCorrect)}.`);
  console.log(JSON.stringify(once));
  for (const w of [wrappedPointer, wrapped, guarded]) {
    w.check?.dispose();
    w.call.dispose();
    w.ctx.dispose();
  }
  freshCodec.dispose();
  es2015.dispose();
  es2015Fresh.dispose();
  for (const r of [pointer, persistent, restored, fingerprinted]) {
    r.call.dispose();
    r.tools.dispose();
    r.ctx.dispose();
  }
  sharedRt.dispose();
  codec.dispose();
}

await main();
