/**
 * The main thread's side of the store worker: starts the thread, sends requests and resolves
 * each with the worker's answer. A worker that dies fails every request still waiting (and every
 * later one) with an error, so the sink can start a new one; it never takes the gateway with it.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../../../codecs/package-root.ts';
import type { StoreOptions } from './local-store.ts';
import type { StoreReply, StoreRequest, StoreWorkerData } from './store-worker-protocol.ts';

/** Running from the TypeScript sources (tsx, vitest) rather than from the bundle in dist/. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Found from the package root, not import.meta.url: this module may run inside the bundle. */
export const STORE_WORKER_FILE = FROM_SOURCE ? join(PACKAGE_ROOT, 'gateway', 'web', 'store', 'store-worker-from-source.mjs') : join(PACKAGE_ROOT, 'dist', 'store-worker.mjs');

/**
 * The worker's V8 heap. It holds the hot state (about 2 KB per device: 20 MB for the city
 * fleet's 10,000) and the garbage of the batch being applied, which is decoded record by record
 * (store-batch.ts) and dies young: a small young generation keeps it from counting in RSS.
 */
const WORKER_YOUNG_MB = 4;
const WORKER_OLD_MB = 64;

type Ok = Extract<StoreReply, { ok: true }>;

/** A request that failed: `code` is SQLite's when the store itself failed. */
export class StoreWorkerError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export class StoreWorkerClient {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: Ok) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private deadReason: string | undefined;
  /** resolves when the store is open in the worker, rejects when it could not be opened */
  readonly ready: Promise<void>;

  constructor(store: StoreOptions) {
    this.worker = new Worker(STORE_WORKER_FILE, {
      workerData: { store } satisfies StoreWorkerData,
      // The gateway runs with small V8 heaps (gateway/deploy/lorawan-edge.service) for its RSS
      // goal; so does its store worker.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB, maxOldGenerationSizeMb: WORKER_OLD_MB },
      stdout: false,
      stderr: false,
    });
    let opened: () => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((res, rej) => {
      opened = res;
      failed = rej;
    });
    this.ready.catch(() => undefined); // observed by start(); never an unhandled rejection
    this.worker.on('message', (m: StoreReply) => {
      if ('op' in m) return opened();
      if (!m.ok && m.seq === 0) return failed(new StoreWorkerError(m.message, m.code));
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.ok) w.resolve(m);
      else w.reject(new StoreWorkerError(m.message, m.code));
    });
    const die = (reason: string): void => {
      this.deadReason ??= reason;
      failed(new StoreWorkerError(`local store worker: ${this.deadReason}`));
      for (const w of this.waiting.values()) w.reject(new StoreWorkerError(`local store worker: ${this.deadReason}`));
      this.waiting.clear();
    };
    // An unhandled 'error' event would take the gateway down with the thread.
    this.worker.on('error', (err: unknown) => die(err instanceof Error ? err.message : String(err)));
    this.worker.on('exit', (code) => die(`exited with code ${code}`));
  }

  get dead(): boolean {
    return this.deadReason !== undefined;
  }

  /** `transfer`: buffers handed over to the worker (no copy; unusable here afterwards). */
  request(req: DistributiveOmit<StoreRequest, 'seq'>, transfer: ArrayBuffer[] = []): Promise<Ok> {
    if (this.deadReason !== undefined) return Promise.reject(new StoreWorkerError(`local store worker: ${this.deadReason}`));
    const seq = ++this.seq;
    return new Promise<Ok>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ ...req, seq } as StoreRequest, transfer);
    });
  }

  /** Closes the store in the worker (bounded by `ms`), then ends the thread. */
  async close(ms = 10_000): Promise<void> {
    if (!this.dead) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.request({ op: 'close' }).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }
}
