// The sandbox thread: owns the QuickJS WebAssembly module and every codec context, and serves
// the host's synchronous requests over a SharedArrayBuffer (protocol in engine.ts).
//
// Plain JavaScript on purpose: a worker thread has to start without a TypeScript loader (in the
// gateway, under tsx, and under vitest alike). Everything it returns is checked again by the
// TypeScript host, so a bug here cannot hand the host anything but a string.
//
// Per codec script: one QuickJS runtime + context at a time, used for ONE call only.
//   - memory limit (runtime malloc limit: the smallest of the per-call, per-context and what the
//     sandbox's total budget leaves), max stack size, interrupt handler with a deadline;
//   - the bridge (vm/prelude.js) is evaluated first, then the optional Buffer (vm/buffer.js),
//     then the codec script; per call only the JSON input goes in and a string comes out;
//   - every call gets a context in its post-load state, as The Things Stack and ChirpStack give
//     a script a fresh VM per call: the context that served a call is thrown away after the
//     reply is sent, and the next one is prepared then, before this thread waits for the next
//     request (the host is not kept waiting for it unless calls come back to back). Nothing a
//     call does - globals, intrinsics, prototypes, getters on Object.prototype - can reach the
//     next call, and since no state survives a call, devices share their codec's context.
// A failure of the engine itself (the WebAssembly module trapping or exhausting this thread's
// stack) is answered with `restart: true` and this thread exits; the host starts a new one.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { TextEncoder } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { newQuickJSWASMModule, RELEASE_SYNC } from 'quickjs-emscripten';
import { reuseVerdict } from './reuse-scan.mjs';

const CTL_REQ = 0;
const CTL_RES = 1;
const CTL_REQ_LEN = 2;
const CTL_RES_LEN = 3;
const CTL_READY = 4;
const CTL_REQ_OP = 5;
const CTL_REQ_CODEC = 6;
const CTL_REQ_DEVICE = 7;
const CTL_REQ_FN = 8;
const CTL_REQ_LOGS = 9;
const CTL_RES_KIND = 10;
const OP_CALL = 1;
const RES_RESULT = 1;
const RES_HEADER = 2;
const FUNCTIONS = ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'normalizeUplink'];

const { sab, headerBytes } = workerData;
const ctl = new Int32Array(sab, 0, headerBytes / 4);
const data = new Uint8Array(sab, headerBytes);
/** The request bytes as a Buffer: decoded in place (TextDecoder would need a copy of them). */
const dataText = Buffer.from(sab, headerBytes);
const encoder = new TextEncoder();

/**
 * The bridge is parsed once per call (every call gets a fresh context), so it is handed to
 * QuickJS without its comment lines and indentation: parsing is most of what a context costs.
 */
function compact(source) {
  return source
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('//'))
    .join('\n');
}

const PRELUDE = compact(readFileSync(new URL('./vm/prelude.js', import.meta.url), 'utf8'));
const BUFFER = readFileSync(new URL('./vm/buffer.js', import.meta.url), 'utf8');
const RESULT_CHECK = readFileSync(new URL('./vm/result-check.js', import.meta.url), 'utf8');
const STATE_GUARD = compact(readFileSync(new URL('./vm/state-guard.js', import.meta.url), 'utf8'));

const ENTRY_NAMES = [
  'decodeUplink',
  'encodeDownlink',
  'decodeDownlink',
  'normalizeUplink',
  'Decoder',
  'Encoder',
  'Converter',
  'Validator',
  'Decode',
  'Encode',
];
const ENTRIES_EXPORT = '__lorawanEdgeEntries__';
const ENTRIES_EXPRESSION = `({${ENTRY_NAMES.map((n) => `${n}: typeof ${n} === 'function' ? ${n} : undefined`).join(', ')}})`;
const MODULE_SUFFIX = `\n;export const ${ENTRIES_EXPORT} = ${ENTRIES_EXPRESSION};\n`;
/**
 * A reused context holds the script as the body of an arrow function, compiled once and run at
 * the start of every call: each call gets fresh top-level declarations and closures, and the
 * script's own functions come back from it. An arrow function, because it has no `this` or
 * `arguments` of its own: top-level `this` stays the global object and `arguments` stays
 * unresolved, as in a script. A `"use strict"` at the top of the script is the directive of the
 * arrow's body, so it still applies. The source parsed as a classic script first (at load), so
 * it cannot close the wrapper early. The `\n` ends a final line comment.
 */
function wrapperSource(source) {
  return `(() => {${source}\n;return ${ENTRIES_EXPRESSION};})`;
}
/** Per caller kind: the names of the script functions it takes (a, b, c of the bridge's adapters). */
const LIVE_ENTRIES = {
  ts013: { decodeUplink: ['decodeUplink'], encodeDownlink: ['encodeDownlink'], decodeDownlink: ['decodeDownlink'], normalizeUplink: ['normalizeUplink'] },
  v2: { decodeUplink: ['Decoder', 'Converter', 'Validator'], encodeDownlink: ['Encoder'] },
  v3: { decodeUplink: ['Decode'], encodeDownlink: ['Encode'] },
};
const LIVE_KIND = {
  ts013: { decodeUplink: 'ts013', encodeDownlink: 'ts013', decodeDownlink: 'ts013', normalizeUplink: 'ts013' },
  v2: { decodeUplink: 'v2-decode', encodeDownlink: 'v2-encode' },
  v3: { decodeUplink: 'v3-decode', encodeDownlink: 'v3-encode' },
};
const BUFFER_MODULE = 'const B = globalThis.Buffer; export { B as Buffer }; export default { Buffer: B };';

/** codec id → codec state */
const codecs = new Map();

/**
 * The sandbox's total memory budget, enforced on what it really costs: the size of this
 * thread's WebAssembly memory, which holds every codec's prepared context and the running call,
 * and which grows but never shrinks. QuickJS's own malloc limit cannot do this here: this build
 * has no malloc_usable_size, so QuickJS counts each allocation's size only when it is made and
 * then 8 bytes per block (measured: 90 strings of 128 KiB pass a 4 MiB limit); that limit only
 * stops single allocations larger than it. So the interrupt handler stops a call once the
 * memory has grown past the budget, a load that takes it past the budget is refused, and
 * whenever it ends up past the budget this thread is replaced, which returns the memory.
 */
const budget = { total: 64 * 1024 * 1024, label: '64 MiB' };

/** Whether the WebAssembly memory grew past the budget (the thread must then be replaced). */
function overBudget() {
  return wasmBytes() > budget.total;
}

/** Codecs whose context served a call: thrown away and prepared anew after the reply. */
const used = [];

/** Set when the memory grew past the budget between requests. */
let mustRestart = false;

/** Raised for failures of the engine (not of a script): the thread must be replaced. */
class EngineFailure extends Error {}

/**
 * WebAssembly functions are compiled on first use: run the whole path once (context, bridge,
 * Buffer, a script, a call) so the first real script is not timed against the compiler.
 */
function warmUp() {
  const state = {
    id: 0,
    source: 'function decodeUplink(input) { var b = Buffer.from(input.bytes); return { data: { v: b.readUInt16BE(0), n: [1.5, null] } }; }',
    style: 'ttn',
    form: 'script',
    api: 'ts013',
    functions: [],
    buffer: true,
    timeoutMs: 5_000,
    loadTimeoutMs: 5_000,
    memoryLimitBytes: 16 * 1024 * 1024,
    callMemoryLimitBytes: 16 * 1024 * 1024,
    maxStackSizeBytes: 256 * 1024,
    config: JSON.stringify({ maxDepth: 64, maxResultBytes: 1024, maxResultLabel: '1 KiB', maxLogLines: 1, maxLogChars: 100 }),
    limitLabels: { time: '5000 ms', load: '5000 ms', memory: '16 MiB', callMemory: '16 MiB' },
    ready: undefined,
    warm: true,
  };
  // Both paths: a fresh context per call, then a reused one (wrapper, state guard, reload).
  for (const reused of [false, true]) {
    if (reused) {
      state.reuse = true;
      state.names = ['Buffer', 'input', 'bytes'];
    }
    for (let i = 0; i < 3; i++) {
      const made = createSlot(state, !reused, reused);
      if (made.error) throw new Error(`sandbox warm-up failed: ${made.error}`);
      state.ready = made.slot;
      for (let k = 0; k < 20; k++) {
        call({ codec: 0, device: 0, fn: 'decodeUplink', logs: false }, '{"bytes":[1,2],"fPort":1}', state);
        afterReply();
      }
      destroySlot(state.ready);
      state.ready = undefined;
    }
  }
}

function serve() {
  let last = 0;
  for (;;) {
    Atomics.wait(ctl, CTL_REQ, last);
    const seq = Atomics.load(ctl, CTL_REQ);
    if (seq === last) continue;
    last = seq;
    const text = dataText.toString('utf8', 0, ctl[CTL_REQ_LEN]);
    let reply;
    let restart = false;
    try {
      if (ctl[CTL_REQ_OP] === OP_CALL) {
        const header = { codec: ctl[CTL_REQ_CODEC], device: ctl[CTL_REQ_DEVICE], fn: FUNCTIONS[ctl[CTL_REQ_FN]], logs: ctl[CTL_REQ_LOGS] === 1 };
        // The host registers the codec in a new thread and calls again there.
        reply = mustRestart ? [{ s: 'unknown-codec', restart: true }, ''] : call(header, text);
      } else {
        reply = handle(text);
        if (mustRestart) reply = [{ ...reply[0], restart: true }, reply[1]];
      }
    } catch (err) {
      restart = true;
      reply = [{ s: 'crash', m: describeHostError(err), restart: true }, ''];
    }
    if (reply[0].restart) restart = true;
    try {
      writeReply(reply);
    } catch (err) {
      restart = true;
      writeReply([{ s: 'crash', m: describeHostError(err), restart: true }, '']);
    }
    Atomics.store(ctl, CTL_RES, seq);
    Atomics.notify(ctl, CTL_RES);
    if (restart) process.exit(1);
    try {
      afterReply();
    } catch {
      // The engine itself failed while preparing: the next request finds this thread gone.
      process.exit(1);
    }
  }
}

/**
 * Work left after a reply, done while the host goes on: throw away the contexts that served
 * calls and prepare each codec's next post-load context. A preparation that fails (the
 * script's top-level code timed out or threw this time) leaves none; the next call then builds
 * one itself and reports why it could not.
 */
function afterReply() {
  while (used.length > 0) {
    const { state, slot } = used.pop();
    if (slot.reused) {
      settleReused(state, slot);
      continue;
    }
    destroySlot(slot);
    if (state.ready === undefined && (state.warm || codecs.get(state.id) === state)) {
      const made = createSlot(state, false);
      if (made.slot) state.ready = made.slot;
      // Preparing took the memory past the budget: this thread goes (with the memory) once it
      // has answered the next request, which the host then repeats in a new thread.
      if (overBudget()) mustRestart = true;
    }
  }
}

/** The reply header of a plain successful call (sent without a header). */
const RESULT = Object.freeze({ s: 'R' });

/** Messages come from scripts (exception texts, property names): keep them readable. */
const MAX_MESSAGE = 2000;

function writeReply([header, body]) {
  if (header === RESULT) {
    // The hot path: a plain result, sent as is.
    const { read, written } = encoder.encodeInto(body, data);
    if (read === body.length) {
      ctl[CTL_RES_KIND] = RES_RESULT;
      ctl[CTL_RES_LEN] = written;
      return;
    }
    header = { s: 'E', m: 'sandbox reply does not fit the transfer buffer' };
    body = '';
  }
  ctl[CTL_RES_KIND] = RES_HEADER;
  if (typeof header.m === 'string' && header.m.length > MAX_MESSAGE) header.m = `${header.m.slice(0, MAX_MESSAGE)}…`;
  let text = JSON.stringify(header) + '\n' + body;
  let { read, written } = encoder.encodeInto(text, data);
  if (read < text.length) {
    text = JSON.stringify({ s: 'E', m: 'sandbox reply does not fit the transfer buffer' }) + '\n';
    ({ written } = encoder.encodeInto(text, data));
  }
  ctl[CTL_RES_LEN] = written;
}

function describeHostError(err) {
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return 'script exhausted the sandbox thread stack (code or data nested too deeply)';
  }
  return `sandbox engine failure: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
}

function handle(text) {
  const nl = text.indexOf('\n');
  const header = JSON.parse(nl < 0 ? text : text.slice(0, nl));
  const body = nl < 0 ? '' : text.slice(nl + 1);
  switch (header.op) {
    case 'load':
      return load(header, body);
    case 'call':
      return call(header, body);
    case 'unload':
      unload(header.codec);
      return [{ s: 'R' }, ''];
    case 'stats': {
      const state = codecs.get(header.codec);
      return [{ s: 'R', contexts: state && state.ready ? 1 : 0, wasmBytes: wasmBytes(), codecs: codecs.size, ...(state ? { ...pathOf(state), repairs: state.repairs ?? 0 } : {}) }, ''];
    }
    case 'budget':
      budget.total = header.totalBytes;
      budget.label = header.label;
      return [{ s: 'R', wasmBytes: wasmBytes(), codecs: codecs.size }, ''];
    default:
      return [{ s: 'E', m: `unknown op ${String(header.op)}` }, ''];
  }
}

// ---------------------------------------------------------------------------------------------
// codecs and their contexts

function load(header, source) {
  unload(header.codec);
  const state = {
    id: header.codec,
    source,
    style: header.style,
    form: header.style === 'chirpstack' ? 'module' : header.style === 'auto' ? 'auto' : 'script',
    api: undefined,
    functions: [],
    buffer: header.style === 'chirpstack' || /\bBuffer\b/.test(source),
    freshState: header.freshState === 'context' ? 'context' : 'auto',
    reuse: false,
    why: undefined,
    names: undefined,
    timeoutMs: header.timeoutMs,
    loadTimeoutMs: header.loadTimeoutMs,
    memoryLimitBytes: header.memoryLimitBytes,
    callMemoryLimitBytes: header.callMemoryLimitBytes,
    maxStackSizeBytes: header.maxStackSizeBytes,
    ready: undefined,
    config: JSON.stringify({
      maxDepth: header.maxDepth,
      maxResultBytes: header.maxResultBytes,
      maxResultLabel: header.maxResultLabel,
      maxLogLines: header.maxLogLines,
      maxLogChars: header.maxLogChars,
    }),
    limitLabels: {
      time: `${header.timeoutMs} ms`,
      load: `${header.loadTimeoutMs} ms`,
      memory: header.memoryLabel,
      callMemory: header.callMemoryLabel,
    },
  };
  let made = createSlot(state, true);
  if (made.error) return [{ s: 'load-failed', m: made.error }, ''];
  choosePath(state);
  if (state.reuse) {
    // The probe ran the script as a script (syntax, style, functions); the calls get the
    // reused context, whose first call runs the top-level code again.
    const reused = createSlot(state, false, true);
    if (reused.slot) {
      destroySlot(made.slot);
      made = reused;
    } else {
      state.reuse = false;
      state.why = `the script cannot run inside the wrapper (${reused.error})`;
    }
  }
  if (overBudget()) {
    // This script's context does not fit beside the others: refuse it. The memory it grew by
    // stays with this thread; the host replaces the thread and registers the others again.
    destroySlot(made.slot);
    return [{ s: 'load-failed', m: `${totalBudgetText()}: no room for this script's context`, budget: true }, ''];
  }
  codecs.set(state.id, state);
  state.ready = made.slot;
  return [{ s: 'R', style: resolvedStyle(state), form: state.form, functions: state.functions, ...pathOf(state) }, ''];
}

/**
 * Settles how calls get their fresh state: `state.reuse` (one reused context, the top-level code
 * run again per call) or a fresh context per call, with the reason in `state.why`.
 */
function choosePath(state) {
  state.reuse = false;
  if (state.freshState === 'context') {
    state.why = 'a fresh context per call was asked for (freshState: context)';
    return;
  }
  if (state.form !== 'script') {
    state.why = 'an ES module gets a fresh context per call';
    return;
  }
  const verdict = reuseVerdict(state.source);
  if (!verdict.reuse) {
    state.why = verdict.reason;
    return;
  }
  state.names = verdict.names;
  state.reuse = true;
  state.why = undefined;
}

/** How calls of the codec get their fresh state, for the host (`stats`, `load`). */
function pathOf(state) {
  return state.reuse ? { path: 'reused-context' } : { path: 'fresh-context', why: state.why };
}

function resolvedStyle(state) {
  if (state.api === 'v2') return 'ttn-v2';
  if (state.api === 'v3') return 'chirpstack-v3';
  return state.form === 'module' ? 'chirpstack' : 'ttn';
}

function unload(codecId) {
  const state = codecs.get(codecId);
  if (!state) return;
  codecs.delete(codecId);
  destroySlot(state.ready);
  state.ready = undefined;
}

/** The codec's post-load context for this call: the prepared one, or one built now. */
function takeSlot(state) {
  const slot = state.ready;
  if (slot) {
    // A reused context stays the codec's; a fresh one serves this call only.
    if (!slot.reused) state.ready = undefined;
    return { slot };
  }
  const made = createSlot(state, false, state.reuse);
  if (made.slot && made.slot.reused) state.ready = made.slot;
  return made;
}

function wasmBytes() {
  return quickjs?.module?.HEAPU8?.byteLength ?? 0;
}

function mib(n) {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function totalBudgetText() {
  return `the sandbox's total memory budget ${budget.label} is exhausted (${mib(wasmBytes())} of WebAssembly memory, ${codecs.size} script(s) loaded)`;
}

/**
 * Sets the runtime's malloc limit for the phase ('load': the top-level code, per-context
 * limit; 'call': also the per-call limit) and remembers which one applies, so that running out
 * of memory names the limit that was hit. (QuickJS applies it to single allocations, see
 * `budget`; the total is watched by the interrupt handler.)
 */
function applyMemoryLimit(state, slot, phase) {
  let limit = state.memoryLimitBytes;
  let kind = 'context';
  if (phase === 'call' && state.callMemoryLimitBytes < limit) {
    limit = state.callMemoryLimitBytes;
    kind = 'call';
  }
  slot.limitKind = kind;
  if (slot.limitBytes !== limit) {
    slot.limitBytes = limit;
    slot.rt.setMemoryLimit(limit);
  }
}

function memoryError(state, slot) {
  if (slot.overBudget || overBudget()) return `script ran out of memory: ${totalBudgetText()}`;
  if (slot.limitKind === 'call') return `script exceeded the per-call memory limit ${state.limitLabels.callMemory}`;
  if (slot.limitKind === 'total') return `script ran out of memory: ${totalBudgetText()}`;
  return `script exceeded the per-context memory limit ${state.limitLabels.memory}`;
}

/** Describes a QuickJS error handle (under the slot's deadline) without throwing. */
function errorText(ctx, handle) {
  try {
    const v = ctx.dump(handle);
    if (v && typeof v === 'object' && typeof v.message === 'string') {
      return { name: typeof v.name === 'string' ? v.name : 'Error', message: v.message };
    }
    return { name: '', message: typeof v === 'string' ? v : JSON.stringify(v) ?? String(v) };
  } catch {
    return { name: '', message: 'an error that cannot be described' };
  }
}

function limitError(state, slot, err) {
  if (slot.overBudget) return `script ran out of memory: ${totalBudgetText()}`;
  if (slot.timedOut) return `script timed out after ${state.limitLabels.time}`;
  if (err.message === 'out of memory') return memoryError(state, slot);
  if (err.message === 'stack overflow') return 'script exceeded the stack limit (recursion too deep)';
  return undefined;
}

/**
 * Builds a runtime + context with the bridge and the script in it. `probe` (at load) also
 * settles the script form and API for `auto`, and records which functions the script has.
 * `reused`: the script goes in as the wrapper (`wrapperSource`), not run yet, with the state
 * guard; the context then serves every call (see `call`, `afterReply`).
 */
function createSlot(state, probe, reused = false) {
  const rt = quickjs.newRuntime();
  const slot = {
    rt,
    ctx: undefined,
    deadline: -Infinity,
    timedOut: false,
    callers: new Map(),
    takeLogs: undefined,
    check: undefined,
    handles: [],
    limitBytes: -1,
    limitKind: 'context',
    overBudget: false,
    reused,
    loader: undefined,
    reload: undefined,
    guard: undefined,
    broken: false,
  };
  const fail = (error) => {
    destroySlot(slot);
    return { error };
  };
  applyMemoryLimit(state, slot, 'load');
  rt.setMaxStackSize(state.maxStackSizeBytes);
  rt.setInterruptHandler(() => {
    if (performance.now() > slot.deadline) {
      slot.timedOut = true;
      return true;
    }
    if (overBudget()) {
      slot.overBudget = true;
      return true;
    }
    return false;
  });
  let ctx;
  try {
    ctx = rt.newContext();
  } catch (err) {
    if (err instanceof RangeError) throw err;
    return fail(`cannot create a script context: ${String(err)}`);
  }
  slot.ctx = ctx;
  // The first evaluation (at load) gets the load budget: it also covers a cold start.
  slot.deadline = performance.now() + (probe ? state.loadTimeoutMs : state.timeoutMs);

  // 1. the bridge
  const setupResult = ctx.evalCode(PRELUDE, 'lorawan-edge:prelude.js', { type: 'global' });
  if (setupResult.error) return failWith(setupResult.error, 'sandbox prelude failed');
  const configHandle = ctx.newString(state.config);
  const apiResult = ctx.callFunction(setupResult.value, ctx.undefined, configHandle);
  configHandle.dispose();
  setupResult.value.dispose();
  if (apiResult.error) return failWith(apiResult.error, 'sandbox prelude failed');
  const bindHandle = ctx.getProp(apiResult.value, reused ? 'bindLive' : 'bind');
  const sealHandle = ctx.getProp(apiResult.value, 'seal');
  if (reused) {
    slot.reload = ctx.getProp(apiResult.value, 'reload');
    slot.handles.push(slot.reload);
  }
  slot.takeLogs = ctx.getProp(apiResult.value, 'takeLogs');
  slot.check = ctx.getProp(apiResult.value, 'check');
  apiResult.value.dispose();
  slot.handles.push(slot.takeLogs, sealHandle, slot.check);

  // 2. Buffer for ChirpStack-style scripts
  if (state.buffer) {
    const r = ctx.evalCode(BUFFER, 'lorawan-edge:buffer.js', { type: 'global' });
    if (r.error) {
      bindHandle.dispose();
      return failWith(r.error, 'sandbox Buffer failed');
    }
    r.value.dispose();
  }

  if (reused) return finishReusedSlot(state, slot, bindHandle, sealHandle, fail, failWith);

  // 3. the script, once
  const evaluated = evaluateScript(state, ctx, rt);
  if (evaluated.error) {
    bindHandle.dispose();
    return failWith(evaluated.error, 'script threw while loading', evaluated.syntax);
  }
  const entries = evaluated.entries;

  const fns = {};
  for (const name of ENTRY_NAMES) {
    const h = ctx.getProp(entries, name);
    if (ctx.typeof(h) === 'function') fns[name] = h;
    else h.dispose();
  }
  entries.dispose();
  if (probe) {
    state.functions = Object.keys(fns);
    if (state.api === undefined) state.api = detectApi(state);
  }
  const missing = missingFunctions(state, fns);
  if (missing) {
    for (const h of Object.values(fns)) h.dispose();
    bindHandle.dispose();
    return fail(missing);
  }

  // 4. one bound caller per operation
  const bindOne = (op, kind, a, b, c) => {
    if (!a) return;
    const kindHandle = ctx.newString(kind);
    const r = ctx.callFunction(bindHandle, ctx.undefined, kindHandle, a, b ?? ctx.undefined, c ?? ctx.undefined);
    kindHandle.dispose();
    if (r.error) {
      r.error.dispose();
      return;
    }
    slot.callers.set(op, r.value);
    slot.handles.push(r.value);
  };
  if (state.api === 'ts013') {
    bindOne('decodeUplink', 'ts013', fns.decodeUplink);
    bindOne('encodeDownlink', 'ts013', fns.encodeDownlink);
    bindOne('decodeDownlink', 'ts013', fns.decodeDownlink);
    bindOne('normalizeUplink', 'ts013', fns.normalizeUplink);
  } else if (state.api === 'v2') {
    bindOne('decodeUplink', 'v2-decode', fns.Decoder, fns.Converter, fns.Validator);
    bindOne('encodeDownlink', 'v2-encode', fns.Encoder);
  } else if (state.api === 'v3') {
    bindOne('decodeUplink', 'v3-decode', fns.Decode);
    bindOne('encodeDownlink', 'v3-encode', fns.Encode);
  }
  for (const h of Object.values(fns)) h.dispose();
  bindHandle.dispose();
  return sealSlot(slot, sealHandle, failWith);

  function failWith(errorHandle, what, syntax) {
    const err = errorText(ctx, errorHandle);
    errorHandle.dispose();
    const limit = slot.timedOut
      ? `script timed out after ${probe ? state.limitLabels.load : state.limitLabels.time}`
      : limitError(state, slot, err);
    if (limit) return fail(`${limit} while loading the script`);
    if (syntax) return fail(`script has a syntax error: ${err.name ? `${err.name}: ` : ''}${err.message}`);
    return fail(`${what}: ${err.name ? `${err.name}: ` : ''}${err.message}`);
  }
}

/**
 * The rest of a reused context: the wrapper compiled (not run), one live caller per operation
 * the script has (found by the probe at load), and the state guard, last, so that its snapshot
 * is the context before any of the script's code ran.
 */
function finishReusedSlot(state, slot, bindHandle, sealHandle, fail, failWith) {
  const { ctx } = slot;
  const w = ctx.evalCode(wrapperSource(state.source), 'codec.js', { type: 'global' });
  if (w.error) {
    bindHandle.dispose();
    return failWith(w.error, 'the wrapped script does not compile', true);
  }
  slot.loader = w.value;
  slot.handles.push(w.value);
  const kinds = LIVE_KIND[state.api] ?? {};
  for (const [op, names] of Object.entries(LIVE_ENTRIES[state.api] ?? {})) {
    if (!state.functions.includes(names[0])) continue;
    const args = [kinds[op], names[0], names[1] ?? '', names[2] ?? ''].map((text) => ctx.newString(text));
    const r = ctx.callFunction(bindHandle, ctx.undefined, ...args);
    for (const h of args) h.dispose();
    if (r.error) {
      r.error.dispose();
      continue;
    }
    slot.callers.set(op, r.value);
    slot.handles.push(r.value);
  }
  bindHandle.dispose();
  if (slot.callers.size === 0) return fail('script defines none of the functions it had at load');
  // The guard's setup is the sandbox's own work (a walk of the built-ins, their method markers),
  // not the script's: it gets its own deadline, as the check after a call does.
  slot.deadline = performance.now() + Math.max(1000, state.loadTimeoutMs);
  const g = ctx.evalCode(STATE_GUARD, 'lorawan-edge:state-guard.js', { type: 'global' });
  if (g.error) return failWith(g.error, 'sandbox state guard failed');
  const namesHandle = ctx.newString(JSON.stringify(state.names ?? []));
  const c = ctx.callFunction(g.value, ctx.undefined, namesHandle);
  namesHandle.dispose();
  g.value.dispose();
  if (c.error) return failWith(c.error, 'sandbox state guard failed');
  slot.guard = c.value;
  slot.handles.push(c.value);
  return sealSlot(slot, sealHandle, failWith);
}

/** The last step of building a context: the bridge's `seal`, and no deadline between calls. */
function sealSlot(slot, sealHandle, failWith) {
  const { ctx } = slot;
  const sealed = ctx.callFunction(sealHandle, ctx.undefined);
  if (sealed.error) return failWith(sealed.error, 'sandbox prelude failed');
  sealed.value.dispose();
  slot.deadline = -Infinity;
  slot.made = { slot };
  return slot.made;
}

/** Evaluates the script as a classic script or an ES module; returns a handle to its entries. */
function evaluateScript(state, ctx, rt) {
  if (state.form === 'script' || state.form === 'auto') {
    const r = ctx.evalCode(state.source, 'codec.js', { type: 'global' });
    if (!r.error) {
      r.value.dispose();
      if (state.form === 'auto') state.form = 'script';
      const e = ctx.evalCode(ENTRIES_EXPRESSION, 'lorawan-edge:entries.js', { type: 'global' });
      if (e.error) return { error: e.error };
      return { entries: e.value };
    }
    const err = errorText(ctx, r.error);
    if (state.form !== 'auto' || err.name !== 'SyntaxError') return { error: r.error, syntax: err.name === 'SyntaxError' };
    // Not a classic script: an ES module (import/export) is the other form vendors use, and
    // ChirpStack-style scripts get a Buffer. Nothing of the script ran yet (it did not parse).
    if (!state.buffer) {
      const b = ctx.evalCode(BUFFER, 'lorawan-edge:buffer.js', { type: 'global' });
      if (b.error) {
        r.error.dispose();
        return { error: b.error };
      }
      b.value.dispose();
    }
    const m = evaluateModule(state, ctx, rt);
    if (!m.error) {
      r.error.dispose();
      state.form = 'module';
      state.buffer = true;
      return m;
    }
    // Report the error of the form the source looks like.
    if (/^\s*(import|export)\b/m.test(state.source)) {
      r.error.dispose();
      return m;
    }
    m.error.dispose();
    return { error: r.error, syntax: true };
  }
  return evaluateModule(state, ctx, rt);
}

function evaluateModule(state, ctx, rt) {
  rt.setModuleLoader((name) => {
    if (name === 'buffer' || name === 'node:buffer') return BUFFER_MODULE;
    return { error: new Error(`module '${name}' is not available in the codec sandbox`) };
  });
  const r = ctx.evalCode(state.source + MODULE_SUFFIX, 'codec.mjs', { type: 'module' });
  if (r.error) {
    const err = errorText(ctx, r.error);
    return { error: r.error, syntax: err.name === 'SyntaxError' };
  }
  let ns = r.value;
  const promise = ctx.getPromiseState(ns);
  if (promise.type === 'pending') {
    rt.executePendingJobs();
  }
  const settled = ctx.getPromiseState(ns);
  if (settled.type === 'rejected') {
    ns.dispose();
    return { error: settled.error };
  }
  if (settled.type === 'pending') {
    ns.dispose();
    return { error: ctx.newError('module evaluation did not finish (top-level await?)') };
  }
  if (!settled.notAPromise) {
    ns.dispose();
    ns = settled.value;
  }
  // Prefer what the module exports; fall back to module-scope functions (ChirpStack's own
  // wrapper finds `decodeUplink` that way even when the script does not export it).
  const inner = ctx.getProp(ns, ENTRIES_EXPORT);
  const entries = ctx.newObject();
  for (const name of ENTRY_NAMES) {
    const exported = ctx.getProp(ns, name);
    if (ctx.typeof(exported) === 'function') {
      ctx.setProp(entries, name, exported);
    } else if (ctx.typeof(inner) === 'object') {
      const local = ctx.getProp(inner, name);
      if (ctx.typeof(local) === 'function') ctx.setProp(entries, name, local);
      local.dispose();
    }
    exported.dispose();
  }
  inner.dispose();
  ns.dispose();
  return { entries };
}

function detectApi(state) {
  const has = (n) => state.functions.includes(n);
  if (state.style === 'ttn-v2') return 'v2';
  if (state.style === 'chirpstack-v3') return 'v3';
  if (state.style === 'ttn' || state.style === 'chirpstack') return 'ts013';
  if (has('decodeUplink') || has('encodeDownlink') || has('decodeDownlink')) return 'ts013';
  if (has('Decoder') || has('Encoder')) return 'v2';
  if (has('Decode') || has('Encode')) return 'v3';
  return 'ts013';
}

function missingFunctions(state, fns) {
  if (state.api === 'ts013' && !fns.decodeUplink && !fns.encodeDownlink && !fns.decodeDownlink) {
    return state.style === 'auto'
      ? 'script defines none of decodeUplink, encodeDownlink, decodeDownlink (TS013), Decoder/Encoder (TTN v2) or Decode/Encode (ChirpStack v3)'
      : `script defines none of decodeUplink, encodeDownlink, decodeDownlink (style ${state.style})`;
  }
  if (state.api === 'v2' && !fns.Decoder && !fns.Encoder) return 'script defines neither Decoder nor Encoder (style ttn-v2)';
  if (state.api === 'v3' && !fns.Decode && !fns.Encode) return 'script defines neither Decode nor Encode (style chirpstack-v3)';
  return undefined;
}

function destroySlot(slot) {
  if (!slot || slot.destroyed) return;
  slot.destroyed = true;
  try {
    for (const h of slot.handles) if (h.alive) h.dispose();
    slot.ctx?.dispose();
    slot.rt.dispose();
  } catch (err) {
    // QuickJS refusing to free a runtime means its heap is inconsistent: replace the engine.
    throw new EngineFailure(`could not release a script context: ${String(err)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// calls

function call(header, input, known) {
  const state = known ?? codecs.get(header.codec);
  if (!state) return [{ s: 'unknown-codec' }, ''];
  const made = takeSlot(state);
  if (made.error) return [{ s: 'E', m: made.error, ...(overBudget() ? { restart: true } : {}) }, ''];
  const slot = made.slot;
  // Whatever happens below, this context serves no other call.
  used.push({ state, slot });
  const caller = slot.callers.get(header.fn);
  if (!caller) return [{ s: 'E', m: `script defines no ${header.fn}` }, ''];
  const { ctx } = slot;
  if (slot.reused) {
    const failed = reloadScript(state, slot);
    if (failed) return [failed, ''];
  }

  applyMemoryLimit(state, slot, 'call');
  slot.timedOut = false;
  slot.deadline = performance.now() + state.timeoutMs;
  const arg = ctx.newString(input);
  const result = ctx.callFunction(caller, ctx.undefined, arg);
  arg.dispose();

  let reply;
  let logs;
  if (result.error) {
    // Only what the bridge cannot catch gets here: the interrupt, or a limit hit inside it.
    const err = errorText(ctx, result.error);
    result.error.dispose();
    // Stopped part-way (a limit): a reused context is not trusted again, it is rebuilt.
    slot.broken = true;
    reply = { s: 'E', m: limitError(state, slot, err) ?? `script threw: ${err.name ? `${err.name}: ` : ''}${err.message}` };
  } else {
    let text = ctx.getString(result.value);
    result.value.dispose();
    if (text.charAt(0) === 'C') text = slowCheck(slot, text);
    const status = text.charAt(0);
    const payload = text.slice(3);
    if (header.logs && text.charAt(1) === '+') logs = takeLogs(slot);
    slot.deadline = -Infinity;
    if (status === 'R') {
      // Grown past the budget inside a built-in (no interrupt poll there): answer, then go.
      if (overBudget()) return [{ s: 'R', l: logs, restart: true }, payload];
      return [logs ? { s: 'R', l: logs } : RESULT, payload];
    }
    if (status === 'M') {
      slot.broken = true;
      reply = { s: 'E', m: memoryError(state, slot) };
    } else if (status === 'S') {
      slot.broken = true;
      reply = { s: 'E', m: 'script exceeded the stack limit (recursion too deep)' };
    } else if (status === 'T') {
      reply = { s: 'E', m: `script threw: ${payload}` };
    } else {
      reply = { s: 'E', m: payload };
    }
  }
  slot.deadline = -Infinity;
  if (overBudget()) reply.restart = true;
  return [logs ? { ...reply, l: logs } : reply, ''];
}

/**
 * A reused context's first step of every call: the script's top-level code, run again inside
 * the wrapper, under the same limits as the top-level code of a fresh context (the per-context
 * memory limit, the call's time limit). Returns the error reply when it fails, with the
 * messages a fresh context that cannot be prepared gives.
 */
function reloadScript(state, slot) {
  const { ctx } = slot;
  applyMemoryLimit(state, slot, 'load');
  slot.timedOut = false;
  slot.deadline = performance.now() + state.timeoutMs;
  const r = ctx.callFunction(slot.reload, ctx.undefined, slot.loader);
  let m;
  if (r.error) {
    const err = errorText(ctx, r.error);
    r.error.dispose();
    slot.broken = true;
    const limit = limitError(state, slot, err);
    m = limit ? `${limit} while loading the script` : `script threw while loading: ${err.name ? `${err.name}: ` : ''}${err.message}`;
  } else {
    const text = ctx.getString(r.value);
    r.value.dispose();
    const status = text.charAt(0);
    if (status === 'R') return undefined;
    if (status === 'M') {
      slot.broken = true;
      m = `${memoryError(state, slot)} while loading the script`;
    } else if (status === 'S') {
      slot.broken = true;
      m = 'script exceeded the stack limit (recursion too deep) while loading the script';
    } else {
      m = `script threw while loading: ${text.slice(3)}`;
    }
  }
  slot.deadline = -Infinity;
  return { s: 'E', m, ...(overBudget() ? { restart: true } : {}) };
}

/**
 * After a reply from a reused context: promise jobs left behind, or the state guard's verdict
 * (vm/state-guard.js). Clean or put back: the context serves the next call. Changed beyond
 * repair: this codec gets a fresh context per call from now on (this call's own result was
 * right: it started from the post-load state). A call stopped by a limit: a new reused context.
 */
function settleReused(state, slot) {
  if (slot.destroyed) return;
  const current = state.warm || codecs.get(state.id) === state;
  let keep = current && !slot.broken;
  if (keep) {
    const verdict = guardVerdict(slot);
    if (verdict === 1) state.repairs = (state.repairs ?? 0) + 1;
    if (verdict !== 0 && verdict !== 1) {
      keep = false;
      state.reuse = false;
      state.why = verdict;
    }
  }
  if (keep) return;
  if (state.ready === slot) state.ready = undefined;
  destroySlot(slot);
  if (!current) return;
  const made = createSlot(state, false, state.reuse);
  if (made.slot) state.ready = made.slot;
  if (overBudget()) mustRestart = true;
}

/** 0 as loaded, 1 put back, or why the reused context cannot serve another call. */
function guardVerdict(slot) {
  if (slot.rt.hasPendingJob()) return 'a call left promise jobs pending';
  const { ctx } = slot;
  slot.timedOut = false;
  slot.deadline = performance.now() + 1000;
  const r = ctx.callFunction(slot.guard, ctx.undefined);
  slot.deadline = -Infinity;
  if (r.error) {
    r.error.dispose();
    return 'the state check after a call failed';
  }
  const v = ctx.getNumber(r.value);
  r.value.dispose();
  if (v === 0 || v === 1) return v;
  if (v === 3) return 'a call reached the global object, code evaluation, a prototype or a property definition under a name built at run time';
  return 'a call changed the global object or a built-in in a way that cannot be put back';
}

/** The bridge's slow path for a result it could not pass (see vm/result-check.js). */
function slowCheck(slot, text) {
  const { ctx } = slot;
  const source = ctx.newString(RESULT_CHECK);
  const r = ctx.callFunction(slot.check, ctx.undefined, source);
  source.dispose();
  if (r.error) {
    r.error.dispose();
    return `E${text.charAt(1)}.result cannot be serialized`;
  }
  const checked = ctx.getString(r.value);
  r.value.dispose();
  return checked;
}

function takeLogs(slot) {
  const r = slot.ctx.callFunction(slot.takeLogs, slot.ctx.undefined);
  if (r.error) {
    r.error.dispose();
    return undefined;
  }
  const text = slot.ctx.getString(r.value);
  r.value.dispose();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}


// ---------------------------------------------------------------------------------------------
// start-up (last, so that every declaration above is initialized before serve() runs)

let quickjs;
try {
  quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
  warmUp();
  Atomics.store(ctl, CTL_READY, 1);
} catch (err) {
  Atomics.store(ctl, CTL_READY, 2);
  parentPort?.postMessage({ ready: false, error: String(err) });
}
Atomics.notify(ctl, CTL_READY);
if (quickjs) {
  parentPort?.postMessage({ ready: true });
  serve();
}
