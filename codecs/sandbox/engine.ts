/**
 * The sandbox engine: one worker thread per host thread that owns the QuickJS WebAssembly
 * module and every codec context (`engine-worker.mjs`), called synchronously.
 *
 * Why a thread, when QuickJS already has an interrupt handler and a memory limit:
 * - QuickJS polls its interrupt handler only while it runs bytecode. A built-in that loops in
 *   C never polls it: `new Array(2 ** 32 - 1).indexOf(1)` ran for 250 s with a 100 ms
 *   deadline in our measurement. Only stopping the thread bounds that, and the host can stop a
 *   worker thread but never its own;
 * - compiled to WebAssembly, QuickJS's native recursion (parser, JSON, regexps) runs on the
 *   calling thread's machine stack, which its own stack limit does not measure. On the host's
 *   stack (~1 MB) deeply nested source or data overflowed the host and left the module
 *   unusable; the worker gets a 16 MB stack, and a failure is contained to a thread we replace.
 *
 * Protocol (one SharedArrayBuffer per worker; the host blocks in Atomics.wait, as Node allows):
 *   ctl[REQ]     request sequence number, written by the host after the request bytes
 *   ctl[RES]     set by the worker to the request's number once the reply bytes are written
 *   ctl[REQ_LEN] / ctl[RES_LEN]  byte lengths in the data region
 *   ctl[READY]   0 starting, 1 ready, 2 failed to start
 *   calls (the hot path) put codec, device, function and the logs flag into ctl[REQ_*] and only
 *   the input JSON into the data region; a successful result comes back as the bare result
 *   JSON (ctl[RES_KIND] = 1). Everything else is `<JSON header>\n<body>` in UTF-8: JSON never
 *   contains a raw newline, so the first newline ends the header. Devices are numbered by the
 *   host (0 = the anonymous context).
 *
 * When a reply does not come within the request's hard limit (the script's own time limit plus
 * a margin), the worker is terminated and a new one started; codecs are registered again lazily
 * and their contexts rebuilt on next use. Device state kept in script globals is lost then,
 * which is the same as what ChirpStack and TTN give a script on every call anyway.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { CODECS_DIR } from '../location.ts';

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
const OP_JSON = 2;
const RES_RESULT = 1;
const HEADER_BYTES = 64;
/** Call operations by number (the worker has the same list). */
const FUNCTIONS = ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'normalizeUplink'];

/** The largest per-codec result cap the transfer buffer is sized for. */
export const MAX_RESULT_BYTES_LIMIT = 4 * 1024 * 1024;
/** UTF-8 needs up to 3 bytes per UTF-16 unit the VM measured; headers and logs are small. */
const DATA_BYTES = 3 * MAX_RESULT_BYTES_LIMIT + 1024 * 1024;
const WORKER_STACK_MB = 16;
const WORKER_HEAP_MB = 256;
const START_TIMEOUT_MS = 15_000;

export interface ReplyHeader {
  /** R ok · E error (m says why) · hung (the worker was replaced) · load-failed · unknown-codec · crash */
  s: string;
  m?: string;
  /** Captured console lines. */
  l?: string[];
  restart?: boolean;
  style?: string;
  form?: string;
  functions?: string[];
  contexts?: number;
  /** Size of the sandbox thread's WebAssembly memory (it grows, never shrinks). */
  wasmBytes?: number;
  /** Codecs loaded in the thread. */
  codecs?: number;
  /** A load refused because it does not fit the total memory budget. */
  budget?: boolean;
  /** How the codec's calls get their fresh state (load, stats), and why not reused. */
  path?: 'reused-context' | 'fresh-context';
  why?: string;
  /** Calls after which the reused context's global object or built-ins were put back. */
  repairs?: number;
}

export interface Reply {
  header: ReplyHeader;
  body: string;
  /** The body's length in UTF-8 bytes, when the worker measured it (plain results). */
  bodyBytes?: number;
}

export interface LoadHeader {
  op: 'load';
  codec: number;
  style: string;
  timeoutMs: number;
  loadTimeoutMs: number;
  memoryLimitBytes: number;
  memoryLabel: string;
  callMemoryLimitBytes: number;
  callMemoryLabel: string;
  maxStackSizeBytes: number;
  maxResultBytes: number;
  maxResultLabel: string;
  maxDepth: number;
  maxLogLines: number;
  maxLogChars: number;
  /** `context` forces a fresh context per call; `auto` reuses one where the script allows. */
  freshState: 'auto' | 'context';
}

interface WorkerHandle {
  worker: Worker;
  ctl: Int32Array;
  data: Uint8Array;
  /** The same bytes as a Buffer, to decode replies without copying them. */
  text: Buffer;
  seq: number;
  dead: boolean;
  startError?: string;
  registered: Set<number>;
  /** Whether this thread was told the configured memory budget. */
  budgetSent: boolean;
}

interface Registration {
  header: LoadHeader;
  source: string;
  hardLimitMs: number;
  /** Why the script no longer fits a new thread's budget, once that happened. */
  refused?: string;
}

const OK: ReplyHeader = Object.freeze({ s: 'R' });
const encoder = new TextEncoder();

function spawn(keepAlive: boolean): WorkerHandle {
  const sab = new SharedArrayBuffer(HEADER_BYTES + DATA_BYTES);
  // Found from the package root, not import.meta.url: this module may run inside the bundle.
  const worker = new Worker(join(CODECS_DIR, 'sandbox', 'engine-worker.mjs'), {
    workerData: { sab, headerBytes: HEADER_BYTES },
    resourceLimits: { stackSizeMb: WORKER_STACK_MB, maxOldGenerationSizeMb: WORKER_HEAP_MB },
    stdout: false,
    stderr: false,
  });
  const handle: WorkerHandle = {
    worker,
    ctl: new Int32Array(sab, 0, HEADER_BYTES / 4),
    data: new Uint8Array(sab, HEADER_BYTES),
    text: Buffer.from(sab, HEADER_BYTES),
    seq: 0,
    dead: false,
    registered: new Set(),
    budgetSent: false,
  };
  // A worker that dies must never take the host with it: an unhandled 'error' event would.
  worker.on('error', (err: unknown) => {
    handle.dead = true;
    handle.startError ??= err instanceof Error ? err.message : String(err);
  });
  worker.on('exit', () => {
    handle.dead = true;
  });
  // The thread must not keep the process alive; only the first start is awaited (see start()).
  if (!keepAlive) worker.unref();
  return handle;
}

/** Below this much WebAssembly memory a thread is never replaced only to return memory. */
const RELEASE_FLOOR_BYTES = 32 * 1024 * 1024;

/** The default total memory budget of the sandbox: see `setMemoryBudget`. */
export const DEFAULT_SANDBOX_BUDGET_BYTES = 64 * 1024 * 1024;

export class SandboxEngine {
  private handle: WorkerHandle;
  private readonly registrations = new Map<number, Registration>();
  private nextCodecId = 1;
  private budget = { totalBytes: DEFAULT_SANDBOX_BUDGET_BYTES, label: '64 MiB' };
  /**
   * The longest top-level evaluation a request may find running: after each call the worker
   * prepares that codec's next context before it reads the next request.
   */
  private prepareMarginMs = 0;
  /** Set when the thread was replaced: every loaded codec is registered again, in load order. */
  private reregister = false;
  /** How many times the sandbox thread was replaced (for tests and metrics). */
  restarts = 0;

  private constructor(handle: WorkerHandle) {
    this.handle = handle;
  }

  static async start(): Promise<SandboxEngine> {
    const handle = spawn(true);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: unknown): void => {
        cleanup();
        const ready = typeof msg === 'object' && msg !== null && (msg as { ready?: unknown }).ready === true;
        if (ready) resolve();
        else reject(new Error(`codec sandbox failed to start: ${String((msg as { error?: unknown } | null)?.error)}`));
      };
      const onError = (err: unknown): void => {
        cleanup();
        reject(new Error(`codec sandbox failed to start: ${err instanceof Error ? err.message : String(err)}`));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`codec sandbox thread exited during start (code ${code})`));
      };
      const cleanup = (): void => {
        handle.worker.off('message', onMessage);
        handle.worker.off('error', onError);
        handle.worker.off('exit', onExit);
      };
      handle.worker.on('message', onMessage);
      handle.worker.on('error', onError);
      handle.worker.on('exit', onExit);
    }).finally(() => handle.worker.unref());
    return new SandboxEngine(handle);
  }

  /**
   * The total memory budget of every script context together (the thread's WebAssembly memory
   * grows to about this and no further). Takes effect for later loads and calls.
   */
  setMemoryBudget(totalBytes: number, label: string): void {
    this.budget = { totalBytes, label };
    const live = this.live();
    if (typeof live !== 'string') this.request(live, { op: 'budget', ...this.budget }, '', 5_000);
  }

  /** The thread's WebAssembly memory and how many codecs it holds (for tests and metrics). */
  memory(): { wasmBytes: number; codecs: number } {
    const live = this.live();
    if (typeof live === 'string') return { wasmBytes: 0, codecs: 0 };
    const h = this.request(live, { op: 'budget', ...this.budget }, '', 5_000).header;
    return { wasmBytes: h.wasmBytes ?? 0, codecs: h.codecs ?? 0 };
  }

  /** Registers a script; the reply says which style and functions the worker found. */
  load(source: string, header: Omit<LoadHeader, 'op' | 'codec'>, hardLimitMs: number): { id: number; reply: Reply } {
    const id = this.nextCodecId++;
    const full: LoadHeader = { op: 'load', codec: id, ...header };
    const live = this.live();
    if (typeof live === 'string') return { id, reply: { header: { s: 'E', m: live }, body: '' } };
    const reply = this.request(live, full, source, hardLimitMs);
    if (reply.header.budget) {
      // The refused context's memory stays with the thread: replace it (which returns the
      // memory) and put every codec that was loaded back, so the budget keeps counting them.
      this.replace();
      this.live();
    }
    if (reply.header.s === 'R') {
      live.registered.add(id);
      this.registrations.set(id, { header: full, source, hardLimitMs });
      this.prepareMarginMs = Math.max(this.prepareMarginMs, header.timeoutMs + 50);
    }
    return { id, reply };
  }

  call(codec: number, device: string | null, fn: string, input: string, logs: boolean, hardLimitMs: number): Reply {
    const registration = this.registrations.get(codec);
    if (!registration) return { header: { s: 'E', m: 'the script codec was disposed' }, body: '' };
    for (let attempt = 0; attempt < 2; attempt++) {
      const live = this.live();
      if (typeof live === 'string') return { header: { s: 'E', m: live }, body: '' };
      if (registration.refused !== undefined) return { header: { s: 'E', m: registration.refused }, body: '' };
      if (!live.registered.has(codec)) {
        // Not (yet) in this thread: load the script into it first.
        const loaded = this.request(live, registration.header, registration.source, registration.hardLimitMs);
        if (loaded.header.s !== 'R') return loaded;
        live.registered.add(codec);
      }
      const reply = this.call1(live, codec, this.deviceNumber(device), fn, logs, input, hardLimitMs + this.prepareMarginMs);
      if (reply.header.s !== 'unknown-codec') return reply;
      live.registered.delete(codec);
    }
    return { header: { s: 'E', m: 'the sandbox lost the script codec' }, body: '' };
  }

  unload(codec: number): void {
    if (!this.registrations.delete(codec)) return;
    const live = this.handle;
    if (live.dead || !live.registered.has(codec) || Atomics.load(live.ctl, CTL_READY) !== 1) return;
    live.registered.delete(codec);
    this.request(live, { op: 'unload', codec }, '', 5_000);
    this.releaseMemory(live);
  }

  /**
   * WebAssembly memory only grows: what disposed contexts freed is reused by later ones but
   * never returned to the OS. When the thread holds more than half the budget after a codec
   * was disposed, it is replaced (at no cost to scripts: no state survives a call anyway), which
   * returns the memory; the codecs still loaded are registered again on their next call.
   */
  private releaseMemory(live: WorkerHandle): void {
    const wasm = this.request(live, { op: 'budget', ...this.budget }, '', 5_000).header.wasmBytes ?? 0;
    if (wasm > Math.max(RELEASE_FLOOR_BYTES, this.budget.totalBytes / 2) && live === this.handle) this.replace();
  }

  /** Prepared contexts of one codec: 1 between calls, 0 when the last preparation failed. */
  contexts(codec: number): number {
    const live = this.handle;
    if (live.dead || !live.registered.has(codec)) return 0;
    return this.request(live, { op: 'stats', codec }, '', 5_000).header.contexts ?? 0;
  }

  /** How the codec's calls get their fresh state, as the sandbox thread settled it. */
  statePath(codec: number): { path: 'reused-context' | 'fresh-context'; why?: string; repairs: number } | undefined {
    const live = this.handle;
    if (live.dead || !live.registered.has(codec)) return undefined;
    const h = this.request(live, { op: 'stats', codec }, '', 5_000).header;
    if (h.path === undefined) return undefined;
    return { path: h.path, ...(h.why !== undefined ? { why: h.why } : {}), repairs: h.repairs ?? 0 };
  }

  private readonly devices = new Map<string, number>();

  private deviceNumber(device: string | null): number {
    if (device === null) return 0;
    let n = this.devices.get(device);
    if (n === undefined) {
      n = this.devices.size + 1;
      this.devices.set(device, n);
    }
    return n;
  }

  private call1(h: WorkerHandle, codec: number, device: number, fn: string, logs: boolean, input: string, hardLimitMs: number): Reply {
    const { read, written } = encoder.encodeInto(input, h.data);
    if (read < input.length) return { header: { s: 'E', m: 'input too large for the codec sandbox' }, body: '' };
    h.ctl[CTL_REQ_OP] = OP_CALL;
    h.ctl[CTL_REQ_CODEC] = codec;
    h.ctl[CTL_REQ_DEVICE] = device;
    h.ctl[CTL_REQ_FN] = FUNCTIONS.indexOf(fn);
    h.ctl[CTL_REQ_LOGS] = logs ? 1 : 0;
    return this.exchange(h, written, hardLimitMs);
  }

  /** The current worker, started and ready, or why there is none. */
  private live(): WorkerHandle | string {
    if (this.handle.dead) this.replace();
    const h = this.handle;
    if (Atomics.load(h.ctl, CTL_READY) === 0) Atomics.wait(h.ctl, CTL_READY, 0, START_TIMEOUT_MS);
    const ready = Atomics.load(h.ctl, CTL_READY);
    if (ready === 1 && !h.dead) {
      if (!h.budgetSent) {
        h.budgetSent = true;
        this.request(h, { op: 'budget', ...this.budget }, '', 5_000);
      }
      if (this.reregister) this.registerAll(h);
      return h;
    }
    const why = h.startError ?? (ready === 0 ? 'it did not start in time' : 'it failed to start');
    h.dead = true;
    void h.worker.terminate();
    return `the codec sandbox is not available: ${why}`;
  }

  /**
   * Loads every registered codec into a new thread, in load order, so that the memory budget
   * counts them all again. One that no longer fits is refused for good (its calls say why);
   * a thread that fails meanwhile is left for the next call to replace.
   */
  private registerAll(h: WorkerHandle): void {
    this.reregister = false;
    for (const [id, registration] of this.registrations) {
      if (registration.refused !== undefined || h.registered.has(id)) continue;
      const loaded = this.request(h, registration.header, registration.source, registration.hardLimitMs);
      if (loaded.header.s === 'R') h.registered.add(id);
      else if (loaded.header.budget) {
        // Its attempt grew this thread past the budget: start over without it (each round
        // refuses one more, so this ends).
        registration.refused = loaded.header.m ?? 'the sandbox memory budget is exhausted';
        if (h === this.handle) this.replace();
        return;
      }
      if (h.dead || h !== this.handle) return;
    }
  }

  private replace(): void {
    this.reregister = true;
    const old = this.handle;
    old.dead = true;
    void old.worker.terminate();
    this.handle = spawn(false);
    this.restarts++;
  }

  private request(h: WorkerHandle, header: object, body: string, hardLimitMs: number): Reply {
    const text = `${JSON.stringify(header)}\n${body}`;
    const { read, written } = encoder.encodeInto(text, h.data);
    if (read < text.length) return { header: { s: 'E', m: 'input too large for the codec sandbox' }, body: '' };
    h.ctl[CTL_REQ_OP] = OP_JSON;
    return this.exchange(h, written, hardLimitMs);
  }

  /** Hands the request over and waits for the reply, at most `hardLimitMs`. */
  private exchange(h: WorkerHandle, written: number, hardLimitMs: number): Reply {
    h.ctl[CTL_REQ_LEN] = written;
    const seq = ++h.seq;
    Atomics.store(h.ctl, CTL_REQ, seq);
    Atomics.notify(h.ctl, CTL_REQ);
    const deadline = performance.now() + hardLimitMs;
    while (Atomics.load(h.ctl, CTL_RES) !== seq) {
      const left = deadline - performance.now();
      if (left <= 0) {
        // Stuck where QuickJS cannot interrupt (a built-in looping in C) or the thread died.
        if (h === this.handle) this.replace();
        return { header: { s: 'hung' }, body: '' };
      }
      Atomics.wait(h.ctl, CTL_RES, seq - 1, left);
    }
    const length = Atomics.load(h.ctl, CTL_RES_LEN);
    // Straight from the shared memory: TextDecoder would need a copy first (it refuses shared
    // buffers) and costs more per call than the decoding itself.
    const reply = h.text.toString('utf8', 0, length);
    if (h.ctl[CTL_RES_KIND] === RES_RESULT) return { header: OK, body: reply, bodyBytes: length };
    const nl = reply.indexOf('\n');
    const parsed = JSON.parse(nl < 0 ? reply : reply.slice(0, nl)) as ReplyHeader;
    if (parsed.restart && h === this.handle) this.replace();
    return { header: parsed, body: nl < 0 ? '' : reply.slice(nl + 1) };
  }
}

let shared: Promise<SandboxEngine> | undefined;

/** The engine of this thread, started on first use. */
export function sandboxEngine(): Promise<SandboxEngine> {
  shared ??= SandboxEngine.start().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}
