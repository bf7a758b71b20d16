/**
 * The main thread's side of the UDP intake worker (udp-intake-worker.ts, `intake_thread: true`):
 * starts the thread, turns each of its turns (udp-intake-protocol.ts) into calls of the
 * handlers — entries with their rxpks on this thread's clock, rejects, stats, routes, TX_ACKs,
 * log lines, metric tallies — and sends it the entries done (N3) once per turn of this thread,
 * and the PULL_RESPs to send.
 *
 * A worker that dies (an exception, out of memory, terminated) is reported once through
 * `died` and fails every request waiting and every later one at once: the source reports it in
 * its health and stop/close never wait on it. A request is also bounded in time.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../../codecs/package-root.ts';
import type { Rxpk, Stat } from '../../lorawan/udp/types.ts';
import { workerWithOwnHeap } from './udp-intake-heap.ts';
import { NO_ENTRY, readEntryBatch, type FromIntake, type IntakeReject, type IntakeRoute, type IntakeTallies, type IntakeTurn, type IntakeWorkerData, type ToIntake } from './udp-intake-protocol.ts';

/** Running from the TypeScript sources (tsx, vitest) rather than from the bundle in dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Found from the package root, not import.meta.url: this module may run inside the bundle. */
export const INTAKE_WORKER_FILE = FROM_SOURCE ? join(PACKAGE_ROOT, 'gateway', 'sources', 'udp-intake-worker-from-source.mjs') : join(PACKAGE_ROOT, 'dist', 'udp-intake-worker.mjs');

/**
 * The worker's V8 heap (in force under the unit's heap flags: udp-intake-heap.ts). It keeps
 * N5's resend memory (a Map of 65,536 small integers; the rest is in typed arrays), ~3.5 MB of
 * Node's own per-thread state and the garbage of the datagrams of the moment, which dies young:
 * its live heap is ~7 MB at 2,000 uplinks/s (heap snapshot, bench/RESULTS.md "session 9,
 * ns-intake-default"). 2 MB young is V8's smallest new space (two 1 MB semi-spaces). Measured at
 * 2,000/s: the worker's heap 18.7 MB with the unit's flags in force (4 MB young, old space grown
 * to 12.5 MB), 14.1 MB with 2 / 24, 12.6 MB with 2 / 16. The datagrams being journaled are
 * bounded to fit (INTAKE_JOURNALING_BYTES).
 */
const WORKER_YOUNG_MB = 2;
const WORKER_OLD_MB = 16;
/**
 * Entries run through the network server per turn of this thread's event loop. Node hands a
 * MessagePort's queued messages over in one go: read whole, a backlog of turns was seconds of
 * work without a timer (the batch commits, dedup sweeps) or a socket (/metrics) served. 64 is
 * about what libuv read per poll from the socket on this thread (32 datagrams a round).
 */
const ENTRIES_PER_SLICE = 64;
/**
 * While the worker is told to shed, how often the overload state is asked again (no entries come
 * then, so the slices that ask it otherwise do not run).
 */
const OVERLOAD_CHECK_MS = 10;
/** a request to the worker (listen, stop, flush, close) that takes longer is failed */
const REQUEST_MS = 30_000;

export interface IntakeHandlers {
  /** a PUSH_DATA's good rxpks; `receivedAt` on this thread's performance.now() clock; `entry` its journal id */
  entry(gatewayEui: string, rxpks: Rxpk[], receivedAt: number, entry: number | undefined, replayed: boolean): void;
  reject(r: IntakeReject): void;
  stat(gatewayEui: string, stat: Stat): void;
  /** a PULL_DATA: the gateway's downlink route, `at` on this thread's clock */
  pulled(gatewayEui: string, at: number, route: IntakeRoute): void;
  txAck(gatewayEui: string, token: number, error: string | undefined): void;
  log(level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void;
  tallies(t: IntakeTallies | undefined, commitSeconds: Float64Array | undefined): void;
  socketError(message: string): void;
  /** the network server is overloaded (overload.ts): asked once per slice of entries and, while it holds, every OVERLOAD_CHECK_MS */
  overloaded(): boolean;
  died(reason: string): void;
}

export interface IntakeOpened {
  corrupt_records: number;
  truncated_bytes: number;
  replayDropped: number;
  replayEntries: number;
  replayRxpks: number;
}

export class UdpIntakeThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (m: FromIntake) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private deadReason: string | undefined;
  private closing = false;
  /** the worker's gateway table (a new array when it starts again: queued entries keep theirs) */
  private gateways: string[] = [];
  private pendingDone: number[] = [];
  private doneScheduled = false;
  /** entries read from the worker's turns; `takenSent`: as last told to the worker */
  private taken = 0;
  private takenSent = 0;
  /** worker clock + this = this thread's performance.now() clock (set at `opened`) */
  private clockDelta = 0;
  private cursorNow = 0;
  private bound: { address: string; port: number } | undefined;
  /** entry buffers received and not yet run through the network server, and where in the first one */
  private readonly queue: { entries: ArrayBuffer; gateways: string[] }[] = [];
  private queueAt = 0;
  private draining = false;
  /** as last told to the worker */
  private shedding = false;
  private overloadTimer: NodeJS.Timeout | undefined;
  /** resolves once the journal is open and its replay handed to `entry` */
  readonly opened: Promise<IntakeOpened>;

  constructor(
    data: IntakeWorkerData,
    private readonly on: IntakeHandlers,
  ) {
    this.worker = workerWithOwnHeap(INTAKE_WORKER_FILE, {
      workerData: data satisfies IntakeWorkerData,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB, maxOldGenerationSizeMb: WORKER_OLD_MB },
      stdout: false,
      stderr: false,
    });
    let opened: (o: IntakeOpened) => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    this.opened = new Promise<IntakeOpened>((res, rej) => {
      opened = res;
      failed = rej;
    });
    this.opened.catch(() => undefined); // observed by the source's start(); never an unhandled rejection
    this.worker.on('message', (m: FromIntake) => {
      switch (m.op) {
        case 'turn':
          return this.onTurn(m);
        case 'opened': {
          this.cursorNow = m.cursor;
          const here = Number(process.hrtime.bigint()) / 1e6 - performance.now();
          this.clockDelta = m.clockOffsetMs - here;
          return opened(m);
        }
        case 'socketError':
          return this.on.socketError(m.message);
        case 'failed': {
          const err = Object.assign(new Error(m.seq === 0 ? `UDP intake worker: ${m.message}` : m.message), m.system ?? {});
          if (m.seq === 0) return failed(err);
          return this.settle(m.seq, undefined, err);
        }
        default:
          return this.settle(m.seq, m);
      }
    });
    const die = (reason: string): void => {
      if (this.deadReason !== undefined) return;
      this.deadReason = reason;
      const err = new Error(`UDP intake worker: ${reason}`);
      failed(err);
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.waiting.clear();
      if (!this.closing) this.on.died(reason);
    };
    // An unhandled 'error' event would take the gateway down with the thread.
    this.worker.on('error', (err: unknown) => die(err instanceof Error ? err.message : String(err)));
    this.worker.on('exit', (code) => die(`exited with code ${code}`));
  }

  get dead(): boolean {
    return this.deadReason !== undefined;
  }

  /** The journal's persisted cursor as last reported (entries up to it are not replayed). */
  get cursor(): number {
    return this.cursorNow;
  }

  /** The bound socket's address, once listening. */
  address(): { address: string; port: number } | undefined {
    return this.bound;
  }

  /** Binds the socket (after the replay: N4). */
  async listen(): Promise<{ address: string; port: number }> {
    const m = await this.request('listen');
    if (m.op !== 'listening') throw new Error('UDP intake worker: unexpected answer to listen');
    this.bound = { address: m.address, port: m.port };
    return this.bound;
  }

  /** One reception of each of `ids` is done (N3): sent once per turn of this thread. */
  done(ids: readonly number[]): void {
    for (const id of ids) this.pendingDone.push(id);
    this.scheduleDone();
  }

  private scheduleDone(): void {
    if (this.doneScheduled) return;
    this.doneScheduled = true;
    setImmediate(() => this.flushDone());
  }

  /** Sends a datagram (a PULL_RESP) from the listening socket. */
  send(datagram: Uint8Array, port: number, address: string): void {
    if (this.dead || !this.bound) return;
    this.post({ op: 'send', datagram, port, address });
  }

  /** Closes the socket; resolves once the journal writes in flight were handed over. */
  async stopSocket(): Promise<void> {
    this.bound = undefined;
    await this.request('stopSocket');
    // What the worker handed over last is in the network server before its flush at stop.
    if (this.queue.length) this.drain();
  }

  /** The entries done so far reach the worker, then its cursor is persisted as far as they allow. */
  async flushCursor(): Promise<void> {
    this.flushDone();
    const m = await this.request('flushCursor');
    if (m.op === 'reply') this.cursorNow = m.cursor;
  }

  /** Closes the journal (cursor persisted) and ends the thread; bounded, never throws. */
  async close(): Promise<void> {
    if (this.overloadTimer) clearInterval(this.overloadTimer);
    this.overloadTimer = undefined;
    this.flushDone();
    this.bound = undefined;
    this.closing = true;
    if (!this.dead) await this.request('close').catch(() => undefined);
    await this.worker.terminate();
  }

  /** Ends the thread at once (tests: a worker that dies). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private flushDone(): void {
    this.doneScheduled = false;
    if ((!this.pendingDone.length && this.taken === this.takenSent) || this.dead) return;
    const ids = this.pendingDone.length ? Float64Array.from(this.pendingDone) : undefined;
    this.pendingDone = [];
    this.takenSent = this.taken;
    this.post({ op: 'done', ids, taken: this.taken }, ids ? [ids.buffer as ArrayBuffer] : []);
  }

  private onTurn(m: IntakeTurn): void {
    this.cursorNow = m.cursor;
    if (m.gatewaysReset) this.gateways = [];
    if (m.gateways) for (const [i, eui] of m.gateways) this.gateways[i] = eui;
    if (m.entries) {
      this.queue.push({ entries: m.entries, gateways: this.gateways });
      if (!this.draining) {
        this.draining = true;
        // The replay at start (before `opened`) runs at once: the socket opens only after it (N4).
        if (this.bound) setImmediate(() => this.drain());
        else this.drain();
      }
    }
    if (m.rejects) for (const r of m.rejects) this.on.reject(r);
    if (m.stats) for (const s of m.stats) this.on.stat(s.gateway, s.stat);
    if (m.pulls) for (const p of m.pulls) this.on.pulled(p.gateway, Math.min(performance.now(), p.at + this.clockDelta), p.route);
    if (m.txAcks) for (const t of m.txAcks) this.on.txAck(t.gateway, t.token, t.error);
    if (m.logs) for (const l of m.logs) this.on.log(l.level, l.obj, l.msg);
    if (m.tallies || m.commitSeconds) this.on.tallies(m.tallies, m.commitSeconds);
  }

  /** Up to ENTRIES_PER_SLICE entries through the network server, then the event loop goes on. */
  private drain(): void {
    const nowMono = performance.now();
    const nowWall = Date.now();
    let budget = this.bound ? ENTRIES_PER_SLICE : Infinity;
    let read = 0;
    let table: string[] = [];
    const visit = (id: number, at: number, replayed: boolean, gw: number, rxpks: Rxpk[]): void => {
      read++;
      // A replayed entry's receive windows count from its first arrival (the journal's wall clock).
      const receivedAt = replayed ? nowMono - Math.max(0, nowWall - at) : Math.min(nowMono, at + this.clockDelta);
      this.on.entry(table[gw] ?? '', rxpks, receivedAt, id === NO_ENTRY ? undefined : id, replayed);
    };
    while (budget > 0 && this.queue.length) {
      const head = this.queue[0] as { entries: ArrayBuffer; gateways: string[] };
      table = head.gateways;
      const before = read;
      this.queueAt = readEntryBatch(head.entries, visit, this.queueAt, budget);
      budget -= read - before;
      if (this.queueAt >= head.entries.byteLength) {
        this.queue.shift();
        this.queueAt = 0;
      }
    }
    // Read (and run through the network server's intake): the worker may accept as many more.
    this.taken += read;
    this.checkOverload();
    if (read) this.scheduleDone();
    if (this.queue.length) setImmediate(() => this.drain());
    else this.draining = false;
  }

  /** Tells the worker when the network server's overload state changes (it sheds meanwhile). */
  private checkOverload(): void {
    if (this.dead) return;
    const on = this.on.overloaded();
    if (on === this.shedding) return;
    this.shedding = on;
    this.post({ op: 'overload', on });
    if (on && !this.overloadTimer) {
      this.overloadTimer = setInterval(() => this.checkOverload(), OVERLOAD_CHECK_MS);
      this.overloadTimer.unref();
    } else if (!on && this.overloadTimer) {
      clearInterval(this.overloadTimer);
      this.overloadTimer = undefined;
    }
  }

  private post(m: ToIntake, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private request(op: 'listen' | 'stopSocket' | 'flushCursor' | 'close'): Promise<FromIntake> {
    if (this.deadReason !== undefined) return Promise.reject(new Error(`UDP intake worker: ${this.deadReason}`));
    const seq = ++this.seq;
    return new Promise<FromIntake>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(seq, undefined, new Error(`UDP intake worker: no answer to ${op} within ${REQUEST_MS / 1000} s`)), REQUEST_MS);
      timer.unref();
      this.waiting.set(seq, { resolve, reject, timer });
      this.post({ op, seq });
    });
  }

  private settle(seq: number, m: FromIntake | undefined, err?: Error): void {
    const w = this.waiting.get(seq);
    if (!w) return;
    this.waiting.delete(seq);
    clearTimeout(w.timer);
    if (err || !m) w.reject(err ?? new Error('UDP intake worker: no answer'));
    else w.resolve(m);
  }
}
