/**
 * Sink `local`: drives the local store from the durable log with its own cursor, like every
 * sink. Read after the cursor → apply in one SQLite transaction (which records the last applied
 * id) → commit the cursor. A crash after the transaction and before the cursor commit re-reads
 * records the store skips by id, so every record takes effect exactly once.
 *
 * A batch that fails is applied again one record at a time; a record that fails alone is
 * skipped (counted as `lorawan_edge_sink_errors_total{sink="local",kind="bad_record"}`, logged
 * with the reason and its log id — the record stays in the log's files until the segment goes,
 * and `lorawan-edge replay` can read it).
 */
import type { DurableLog, LogRecord } from '../../buffer/index.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import type { ComponentHealth, Sink } from '../../pipeline/contracts.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { LocalStore, type RegistryDeviceInput, type StoreEvent, type StoreOptions } from './local-store.ts';

export interface LocalSinkOptions {
  name: string;
  log: DurableLog<PipelineRecord>;
  store: StoreOptions;
  metrics: GatewayMetrics;
  now: () => number;
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /**
   * Records per transaction. Default 1,000: a transaction is synchronous (better-sqlite3) and
   * costs ~90 µs of CPU per uplink with the city fleet (bench/web), so 1,000 hold the event loop
   * ~90 ms — larger batches write less WAL per record but delay the sources' acks.
   */
  batchRecords?: number;
  /** How often old readings are pruned. Default 1 h. */
  pruneEveryMs?: number;
}

export class LocalStoreSink implements Sink {
  readonly type = 'local';
  readonly name: string;
  private storeRef: LocalStore | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private committing: Promise<void> = Promise.resolve();
  private lastError: string | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private registry: readonly RegistryDeviceInput[] | undefined;
  /** Records applied since start (for the bench and tests). */
  applied = 0;

  constructor(private readonly opts: LocalSinkOptions) {
    this.name = opts.name;
  }

  /** The open store (after start). */
  get store(): LocalStore {
    if (!this.storeRef) throw new Error('local store is not open');
    return this.storeRef;
  }

  get isOpen(): boolean {
    return this.storeRef !== undefined;
  }

  /** Live updates, after the store's transaction. Returns the unsubscribe function. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The registry's devices (start and SIGHUP); applied at once when the store is open. */
  setRegistry(devices: readonly RegistryDeviceInput[]): void {
    this.registry = devices;
    this.storeRef?.syncRegistry(devices);
  }

  pending(): number {
    return this.opts.log.stats().sinks[this.name]?.lag ?? 0;
  }

  health(): ComponentHealth {
    if (!this.running) return { state: this.storeRef ? 'stopped' : 'built' };
    return this.lastError ? { state: 'degraded', detail: this.lastError } : { state: 'running' };
  }

  async start(): Promise<void> {
    this.storeRef = new LocalStore(this.opts.store);
    if (this.registry) this.storeRef.syncRegistry(this.registry);
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), this.opts.pruneEveryMs ?? 3_600_000);
    this.pruneTimer.unref();
    this.running = true;
    this.loop = this.run();
  }

  private prune(): void {
    try {
      this.storeRef?.prune(this.opts.now());
    } catch (err) {
      this.opts.logger.warn({ sink: this.name, err: (err as Error).message }, 'local store: pruning old readings failed; trying again later');
    }
  }

  private async run(): Promise<void> {
    const reader = this.opts.log.reader(this.name, { batchSize: this.opts.batchRecords ?? 1000 });
    try {
      while (this.running) {
        const records = await reader.read(this.opts.batchRecords ?? 1000, 250);
        const last = records[records.length - 1];
        if (last === undefined) continue;
        let events: StoreEvent[];
        try {
          events = this.applyBatch(records);
        } catch (err) {
          // Not one bad record (those are skipped): the store itself failed, e.g. disk full.
          this.lastError = `local store: ${(err as Error).message}`;
          this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'store' });
          this.opts.logger.error({ sink: this.name, err: (err as Error).message }, 'local store write failed; retrying from the cursor');
          await reader.rewind();
          await new Promise((r) => setTimeout(r, 1000).unref());
          continue;
        }
        this.lastError = undefined;
        this.applied += records.length;
        this.opts.metrics.sinkPointsWritten.inc({ sink: this.name }, records.length);
        const id = last.id;
        this.committing = this.committing
          .then(() => this.opts.log.commit(this.name, id))
          .catch((err: unknown) => {
            this.lastError = `cursor commit failed: ${(err as Error).message}`;
            this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'commit' });
          });
        for (const e of events) for (const fn of this.listeners) fn(e);
      }
    } finally {
      await reader.close();
    }
  }

  private applyBatch(records: LogRecord<PipelineRecord>[]): StoreEvent[] {
    const store = this.store;
    try {
      return store.apply(records);
    } catch {
      const events: StoreEvent[] = [];
      for (const r of records) {
        try {
          events.push(...store.apply([r]));
        } catch (err) {
          if (isStoreFailure(err)) throw err;
          store.skip(r.id);
          this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'bad_record' });
          this.opts.logger.warn({ sink: this.name, logId: r.id, devEui: (r.value as { devEui?: unknown }).devEui, err: (err as Error).message }, 'local store: record skipped');
        }
      }
      return events;
    }
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.running = false;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - Date.now())).unref())]);
    await this.committing;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.committing;
    this.storeRef?.close();
    this.storeRef = undefined;
  }
}

/** SQLite errors that are about the file, not the record (retry the batch later). */
function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}
