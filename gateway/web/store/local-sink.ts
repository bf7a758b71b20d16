/**
 * Sink `local`: drives the local store from the durable log with its own cursor, like every
 * sink. Read after the cursor → hand the batch to the store worker (store-worker.ts), which
 * applies it in one SQLite transaction that also records the last applied id → commit the
 * cursor once the worker answers. A crash after the transaction and before the cursor commit
 * re-reads records the store skips by id, so every record takes effect exactly once.
 *
 * The writes run in the worker thread so they cost the gateway's event loop only the copy of
 * the batch (bench/RESULTS.md, #13). The pages and the API read through a second connection on
 * the main thread (`store`, role `reader`, WAL): they see whole batches only. Live updates
 * (`subscribe`) fire after the worker's commit, so what a page is told is durable.
 *
 * A record the worker cannot apply is skipped alone (counted as
 * `lorawan_edge_sink_errors_total{sink="local",kind="bad_record"}`, logged with the reason and
 * its log id — the record stays in the log's files until the segment goes, and
 * `lorawan-edge replay` can read it).
 */
import type { DurableLog, LogReader } from '../../buffer/index.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ComponentHealth, Sink } from '../../pipeline/contracts.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { epochNow, type BatchTiming, type WorkerTiming } from './batch-timing.ts';
import { LocalStore, type RegistryDeviceInput, type StoreEvent, type StoreOptions } from './local-store.ts';
import { BatchEncoder } from './store-batch.ts';
import { storeFileError } from './store-file-error.ts';
import { StoreWorkerClient } from './store-worker-client.ts';
import type { PruneResult } from './store-worker-protocol.ts';

export interface LocalSinkOptions {
  name: string;
  log: DurableLog<PipelineRecord>;
  store: StoreOptions;
  /** the config key that chose the store's file (`data_dir`, or `web.store.file`), for errors */
  fileKey?: string;
  metrics: GatewayMetrics;
  now: () => number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /**
   * Records per transaction at most. Default 10,000: under a backlog each batch writes every
   * touched device's state and index pages once, so larger batches write less per uplink
   * (bench/web/store-apply.ts, 1,000 devices: 1.8 KB of WAL and 22 µs per uplink at 2,000, 0.8 KB
   * and 15–17 µs at 10,000); at ordinary rates a batch is whatever arrived since the last one.
   * The worker decodes a batch record by record as it applies it, so its size does not become
   * heap. The cost: the write lock (an acknowledgement waits for it) is held up to ~0.2 s.
   */
  batchRecords?: number;
  /** How often old readings are pruned. Default 1 h. */
  pruneEveryMs?: number;
  /** Rows deleted per pruning step at most (one transaction each; applies run between). Default 5,000. */
  pruneStepRows?: number;
  /**
   * Steps per pruning run at most (default 100, ≤ 500,000 rows). A run cut short is continued
   * by another one 10 s later, so a large first pruning is spread out instead of running at once.
   */
  pruneMaxSteps?: number;
  /** Pause before a run cut short continues. Default 10 s. */
  pruneAgainMs?: number;
  /** Called with each batch's instants once its live updates went out (bench/web; batch-timing.ts). */
  onBatchTiming?: (t: BatchTiming) => void;
}

/** A batch read from the log, encoded for the worker. */
interface ReadBatch {
  encoder: BatchEncoder;
  firstId: number;
  /** epochNow() when the first read returned */
  readAt: number;
}

const DEFAULT_BATCH_RECORDS = 10_000;
/** Pause before a pruning run cut short at its step bound continues (the applies go first). */
const PRUNE_AGAIN_MS = 10_000;
/** Records read from the log at a time while a batch is built (what the main thread holds). */
const READ_CHUNK_RECORDS = 1000;

/** A batch the worker applied: its live updates and when it went and came back. */
interface Applied {
  events: StoreEvent[];
  timing: WorkerTiming | undefined;
  postedAt: number;
  repliedAt: number;
}

export class LocalStoreSink implements Sink {
  readonly type = 'local';
  readonly name: string;
  private storeRef: LocalStore | undefined;
  private worker: StoreWorkerClient | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private committing: Promise<void> = Promise.resolve();
  private pruning: Promise<void> | undefined;
  private lastError: string | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruneAgain: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private registry: readonly RegistryDeviceInput[] | undefined;
  /** Records applied since start (for the bench and tests). */
  applied = 0;
  /** The last pruning's figures (for the bench and tests). */
  lastPrune: PruneResult | undefined;

  constructor(private readonly opts: LocalSinkOptions) {
    this.name = opts.name;
  }

  /** The store's read connection (after start): what the pages and the API read. */
  get store(): LocalStore {
    if (!this.storeRef) throw new Error('local store is not open');
    return this.storeRef;
  }

  get isOpen(): boolean {
    return this.storeRef !== undefined;
  }

  /** Live updates, after the worker's commit. Returns the unsubscribe function. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * The registry's devices (start and SIGHUP). Applied by the worker; the promise settles when
   * it has (callers may ignore it: a failure is logged).
   */
  setRegistry(devices: readonly RegistryDeviceInput[]): Promise<void> {
    this.registry = devices;
    if (!this.worker) return Promise.resolve();
    return this.worker.request({ op: 'registry', devices }).then(
      () => undefined,
      (err: unknown) => this.opts.logger.error({ sink: this.name, err: (err as Error).message }, 'local store: applying the registry failed'),
    );
  }

  pending(): number {
    return this.opts.log.stats().sinks[this.name]?.lag ?? 0;
  }

  health(): ComponentHealth {
    if (!this.running) return { state: this.storeRef ? 'stopped' : 'built' };
    return this.lastError ? { state: 'degraded', detail: this.lastError } : { state: 'running' };
  }

  async start(): Promise<void> {
    // The worker opens (and creates) the file first; the reader opens it after.
    this.worker = await this.openWorker();
    try {
      this.storeRef = new LocalStore(this.opts.store, 'reader');
    } catch (err) {
      await this.worker.close().catch(() => undefined);
      this.worker = undefined;
      throw this.fileError(err);
    }
    this.running = true;
    void this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), this.opts.pruneEveryMs ?? 3_600_000);
    this.pruneTimer.unref();
    this.loop = this.run();
  }

  private async openWorker(): Promise<StoreWorkerClient> {
    const worker = new StoreWorkerClient(this.opts.store);
    try {
      await worker.ready;
    } catch (err) {
      await worker.close().catch(() => undefined);
      throw this.fileError(err);
    }
    if (this.registry) await worker.request({ op: 'registry', devices: this.registry });
    return worker;
  }

  /** A failure to open the file for writing, said with the file and its config key (or `err` as it is). */
  private fileError(err: unknown): unknown {
    const code = (err as { code?: unknown }).code;
    return storeFileError(this.opts.store.file, this.opts.fileKey ?? 'web.store.file', typeof code === 'string' ? code : undefined) ?? err;
  }

  /** Starts a pruning in the worker unless one is running; returns when it is done. */
  prune(): Promise<void> {
    const worker = this.worker;
    if (!worker || this.pruning) return this.pruning ?? Promise.resolve();
    this.pruning = worker
      .request({ op: 'prune', now: this.opts.now(), maxRows: this.opts.pruneStepRows ?? 5000, maxSteps: this.opts.pruneMaxSteps ?? 100 })
      .then(
        (r) => {
          this.lastPrune = r.prune;
          if (r.prune && !r.prune.complete && this.running) this.pruneAgain = setTimeout(() => void this.prune(), this.opts.pruneAgainMs ?? PRUNE_AGAIN_MS).unref();
        },
        (err: unknown) => this.opts.logger.warn({ sink: this.name, err: (err as Error).message }, 'local store: pruning old readings failed; trying again later'),
      )
      .finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async run(): Promise<void> {
    const batch = this.opts.batchRecords ?? DEFAULT_BATCH_RECORDS;
    const chunk = Math.min(batch, READ_CHUNK_RECORDS);
    const reader = this.opts.log.reader(this.name, { batchSize: chunk });
    /** the batch the worker is applying; resolves to the error when the store failed */
    let applying: Promise<Error | undefined> | undefined;
    /** the batch in flight was full: there is a backlog */
    let backlog = false;
    /** Waits for the batch in flight; false when it failed (and the reader was rewound). */
    const settle = async (): Promise<boolean> => {
      const failed = await applying;
      applying = undefined;
      if (failed) await this.recover(reader, failed);
      return failed === undefined;
    };
    try {
      while (this.running) {
        // Under a backlog the next batch is read and encoded while the worker applies the
        // previous one: the reader stays at the log's head (its in-memory tail, not the segment
        // files and a CBOR decode per record, as when it waited out each 10,000-record apply) and
        // the worker does not wait for the main thread between batches. At ordinary rates the
        // read waits for the apply instead, so what arrives meanwhile goes out in one batch
        // right after it (reading ahead there made batches of one record, each a commit, and
        // put a second apply into every live update's latency). At most one batch is applied,
        // one being built.
        if (applying && !backlog && !(await settle())) continue;
        const read = await this.readBatch(reader, batch, chunk);
        // A failed batch: the one just read follows it, both are read again from the cursor.
        if (applying && !(await settle())) continue;
        if (read) {
          backlog = read.encoder.count >= batch;
          applying = this.applyAndCommit(read);
        }
      }
      if (applying) await applying;
    } finally {
      await reader.close();
    }
  }

  /** Up to `batch` records after the reader's position, encoded for the worker; undefined if none came within 250 ms. */
  private async readBatch(reader: LogReader<PipelineRecord>, batch: number, chunk: number): Promise<ReadBatch | undefined> {
    const first = await reader.read(chunk, 250);
    if (first.length === 0) return undefined;
    const readAt = epochNow();
    // What the store needs of each record goes into one buffer for the worker
    // (store-batch.ts); the log's records are let go chunk by chunk as they are encoded.
    // Sized once: a short first read is the whole batch at ordinary rates; a full one means a
    // backlog, and the batch will be full (growing by doubling copied it up to four times).
    const encoder = new BatchEncoder(first.length < chunk ? first.length : batch);
    encoder.add(first);
    while (encoder.count < batch) {
      const more = await reader.read(Math.min(chunk, batch - encoder.count), 0);
      if (more.length === 0) break;
      encoder.add(more);
    }
    return { encoder, firstId: (first[0] as { id: number }).id, readAt };
  }

  /** Applies a batch in the worker, then commits the cursor and tells the listeners; the error if the store failed. */
  private async applyAndCommit({ encoder, firstId, readAt }: ReadBatch): Promise<Error | undefined> {
    const count = encoder.count;
    let applied: Applied;
    try {
      applied = await this.applyBatch(encoder);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    this.lastError = undefined;
    this.applied += count;
    this.opts.metrics.sinkPointsWritten.inc({ sink: this.name }, count);
    const id = encoder.lastId;
    this.committing = this.committing
      .then(() => this.opts.log.commit(this.name, id))
      .catch((err: unknown) => {
        this.lastError = `cursor commit failed: ${(err as Error).message}`;
        this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'commit' });
      });
    for (const e of applied.events) for (const fn of this.listeners) fn(e);
    const t = applied.timing;
    if (this.opts.onBatchTiming && t) this.opts.onBatchTiming({ firstId, lastId: id, count, readAt, postedAt: applied.postedAt, workerStartedAt: t.startedAt, workerCommittedAt: t.committedAt, repliedAt: applied.repliedAt, deliveredAt: epochNow() });
    return undefined;
  }

  /**
   * Not one bad record (those are skipped): the store itself failed, e.g. disk full, or its
   * worker died (a new one is started). Everything after the cursor is read again.
   */
  private async recover(reader: LogReader<PipelineRecord>, err: Error): Promise<void> {
    this.lastError = `local store: ${err.message}`;
    this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'store' });
    this.opts.logger.error({ sink: this.name, err: err.message }, 'local store write failed; retrying from the cursor');
    await reader.rewind();
    await new Promise((r) => setTimeout(r, 1000).unref());
    if (this.running && this.worker?.dead) this.worker = await this.openWorker().catch(() => this.worker);
  }

  private async applyBatch(encoder: BatchEncoder): Promise<Applied> {
    if (!this.worker) throw new Error('local store is not open');
    const bytes = encoder.finish();
    const postedAt = epochNow();
    // Handed over, not copied. Events are built and copied back only while a page listens.
    const reply = await this.worker.request({ op: 'apply', batch: bytes, events: this.listeners.size > 0 }, [bytes]);
    const repliedAt = epochNow();
    for (const s of [...encoder.unreadable, ...(reply.skipped ?? [])]) {
      this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'bad_record' });
      this.opts.logger.warn({ sink: this.name, logId: s.logId, devEui: s.devEui, err: s.reason }, 'local store: record skipped');
    }
    return { events: reply.events ?? [], timing: reply.timing, postedAt, repliedAt };
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.running = false;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    clearTimeout(this.pruneAgain);
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - Date.now())).unref())]);
    await this.committing;
  }

  async close(): Promise<void> {
    this.running = false;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    clearTimeout(this.pruneAgain);
    await this.committing;
    await this.worker?.close();
    this.worker = undefined;
    this.storeRef?.close();
    this.storeRef = undefined;
  }
}
