/**
 * Drives one sink from the durable log: read records after the sink's cursor, map them to
 * points (native or ChirpStack schema), hand them to the sink, and move the cursor only after
 * the sink has settled every point of those records (written, or dead-lettered by the server).
 *
 * Several batches may be in flight (the InfluxDB sink batches and pipelines internally), but
 * the cursor only advances over a contiguous prefix of completed batches, so a crash can
 * replay — never skip — records. Replays are harmless: points carry the uplink's timestamp and
 * overwrite themselves. If the sink gives up on a batch (stopped while draining), the reader
 * rewinds to the cursor and those records are delivered again later.
 */
import type { DurableLog, LogReader, LogRecord } from '../buffer/index.ts';
import { newLineBatch, type LineBatch, type Point } from '../sinks/influxdb/line-protocol.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ComponentHealth, Sink } from './contracts.ts';
import type { PipelineRecord } from './record.ts';

/** What the runner needs from a sink implementation. */
export interface PointWriter {
  /** Resolves when every point is settled; the count of points actually written. */
  write(points: readonly Point[]): Promise<{ written: number; deadLettered: number }>;
  /** The same for lines a schema encoded itself (`SinkRunnerOptions.toLines`), when supported. */
  writeBatch?(batch: LineBatch): Promise<{ written: number; deadLettered: number }>;
  start(): Promise<void>;
  /** Drain what is in flight, up to the deadline. */
  stop(deadlineMs: number): Promise<void>;
  health(): ComponentHealth;
}

export interface SinkRunnerOptions {
  name: string;
  type: string;
  log: DurableLog<PipelineRecord>;
  writer: PointWriter;
  toPoints: (r: PipelineRecord) => Point[];
  /**
   * The same schema writing lines straight into a batch (no Point objects), used when the
   * writer has `writeBatch`; it must produce exactly the lines of `encodePoints(toPoints(r))`.
   */
  toLines?: (r: PipelineRecord, batch: LineBatch) => void;
  metrics: GatewayMetrics;
  /** Records per read from the log. Default 2,000. */
  batchRecords?: number;
  /** Batches handed to the writer before the oldest has settled. Default 8 (see below). */
  maxInFlight?: number;
  onError?: (err: Error) => void;
  /**
   * A record the schema could not map (it threw) is left out for this sink — counted as
   * `sink_errors_total{kind="schema"}` and reported here — instead of stopping the sink: a
   * record that fails every time would otherwise block the cursor forever.
   */
  onRecordSkipped?: (id: number, err: Error) => void;
}

/** Records per read from the log when the schema writes lines directly (see readBatch). */
const READ_CHUNK_RECORDS = 200;

interface InFlight {
  lastId: number;
  done: boolean;
  failed: boolean;
  promise: Promise<void>;
}

export class SinkRunner implements Sink {
  readonly name: string;
  readonly type: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private inFlight: InFlight[] = [];
  private committing: Promise<void> = Promise.resolve();
  private lastError: string | undefined;
  private readonly batchRecords: number;
  private readonly maxInFlight: number;
  private wakeSlot: (() => void) | undefined;

  constructor(private readonly opts: SinkRunnerOptions) {
    this.name = opts.name;
    this.type = opts.type;
    this.batchRecords = opts.batchRecords ?? 1000;
    // Reading ahead keeps both sides busy during a drain: while InfluxDB works on the requests
    // in flight, the sink should already hold the next full batch and the runner be decoding
    // the one after. 10 batches of 1,000 records are about 20,000 lines with the native schema:
    // the InfluxDB sink's 4 requests of up to ~4,500 lines (1 MiB) and the next ones queued.
    // With 4 × 2,000 there was rarely a full batch for a fourth request (draining into a local
    // influxd: event loop idle 27 → 18 %); 8 × 2,000 drained no faster than 10 × 1,000 but held
    // 60 % more decoded records in memory (bench/gateway drain phase, heap capped at 96-128 MB).
    // The sink's max_buffered_lines bounds memory when a schema writes more points per record.
    this.maxInFlight = opts.maxInFlight ?? 10;
  }

  pending(): number {
    return this.opts.log.stats().sinks[this.name]?.lag ?? 0;
  }

  health(): ComponentHealth {
    const w = this.opts.writer.health();
    if (w.state !== 'running') return w;
    return this.lastError ? { state: 'degraded', detail: this.lastError } : w;
  }

  async start(): Promise<void> {
    await this.opts.writer.start();
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const reader = this.opts.log.reader(this.name, { batchSize: this.batchRecords });
    try {
      while (this.running) {
        if (this.inFlight.length >= this.maxInFlight) {
          await new Promise<void>((resolve) => {
            this.wakeSlot = resolve;
          });
          continue;
        }
        if (this.inFlight.some((f) => f.failed)) {
          // A batch was given up: wait for the others, then deliver again from the cursor.
          await Promise.allSettled(this.inFlight.map((f) => f.promise));
          this.inFlight = [];
          await reader.rewind();
          await new Promise((r) => setTimeout(r, 1000).unref());
          continue;
        }
        const read = await this.readBatch(reader);
        if (read === undefined) continue;
        const entry: InFlight = { lastId: read.lastId, done: false, failed: false, promise: Promise.resolve() };
        entry.promise = read.write().then(
          (outcome) => {
            entry.done = true;
            this.opts.metrics.sinkPointsWritten.inc({ sink: this.name }, outcome.written);
            if (outcome.deadLettered) this.opts.metrics.sinkDeadLettered.inc({ sink: this.name }, outcome.deadLettered);
            this.lastError = undefined;
            this.advance();
          },
          (err: unknown) => {
            entry.failed = true;
            this.lastError = (err as Error).message;
            this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'gave_up' });
            this.opts.onError?.(err as Error);
            this.wakeSlot?.();
          },
        );
        this.inFlight.push(entry);
      }
    } finally {
      await reader.close();
    }
  }

  /**
   * Up to `batchRecords` records from the log, mapped for the writer: the id of the last one and
   * the call that hands them over. Undefined when nothing came within 250 ms.
   */
  private async readBatch(reader: LogReader<PipelineRecord>): Promise<{ lastId: number; write: () => Promise<{ written: number; deadLettered: number }> } | undefined> {
    const { writer, toLines, toPoints } = this.opts;
    if (toLines === undefined || writer.writeBatch === undefined) {
      const records = await reader.read(this.batchRecords, 250);
      const last = records[records.length - 1];
      if (last === undefined) return undefined;
      const points: Point[] = [];
      for (const r of records) {
        let ps: Point[];
        try {
          ps = toPoints(r.value);
        } catch (err) {
          this.skipRecord(r.id, err);
          continue;
        }
        for (const p of ps) points.push(p);
      }
      return { lastId: last.id, write: () => writer.write(points) };
    }
    // Lines straight from the records, read a few hundred at a time: decoded records are dropped
    // as soon as their lines are made, so far fewer of them are alive when the young generation
    // is collected (with the deployed 2 MB semi-spaces a whole batch of records outlived
    // several scavenges and was copied each time).
    const batch = newLineBatch();
    let count = 0;
    let lastId = 0;
    let asked = Math.min(READ_CHUNK_RECORDS, this.batchRecords);
    let records = await reader.read(asked, 250);
    for (;;) {
      const last = records[records.length - 1];
      if (last === undefined) break;
      for (let i = 0; i < records.length; i++) this.linesOf(records[i] as LogRecord<PipelineRecord>, toLines, batch);
      count += records.length;
      lastId = last.id;
      // A short read: nothing more is there now; send what there is.
      if (records.length < asked || count >= this.batchRecords || !this.running) break;
      asked = Math.min(READ_CHUNK_RECORDS, this.batchRecords - count);
      records = await reader.read(asked, 0);
    }
    if (count === 0) return undefined;
    const writeBatch = writer.writeBatch.bind(writer);
    return { lastId, write: () => writeBatch(batch) };
  }

  /** toLines for one record; if it throws, what it had added is taken out again and the record skipped. */
  private linesOf(r: LogRecord<PipelineRecord>, toLines: (r: PipelineRecord, batch: LineBatch) => void, batch: LineBatch): void {
    const size = batch.size;
    const ends = batch.ends.length;
    const points = batch.points;
    const rejected = batch.rejected.length;
    try {
      toLines(r.value, batch);
    } catch (err) {
      batch.size = size;
      batch.ends.length = ends;
      batch.points = points;
      batch.rejected.length = rejected;
      this.skipRecord(r.id, err);
    }
  }

  private skipRecord(id: number, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'schema' });
    this.opts.onRecordSkipped?.(id, e);
  }

  /** Commits the cursor over the completed prefix of in-flight batches. */
  private advance(): void {
    let last: number | undefined;
    while (this.inFlight[0]?.done) last = (this.inFlight.shift() as InFlight).lastId;
    const wake = this.wakeSlot;
    this.wakeSlot = undefined;
    wake?.();
    if (last === undefined) return;
    const id = last;
    this.committing = this.committing
      .then(() => this.opts.log.commit(this.name, id))
      .catch((err: unknown) => {
        this.lastError = `cursor commit failed: ${(err as Error).message}`;
        this.opts.metrics.sinkErrors.inc({ sink: this.name, kind: 'commit' });
      });
    this.opts.metrics.sinkLag.set({ sink: this.name }, this.pending());
  }

  async stop(deadlineMs = Date.now() + 10_000): Promise<void> {
    this.running = false;
    this.wakeSlot?.();
    // Let what was handed to the sink settle, then drain the sink itself.
    const left = Math.max(0, deadlineMs - Date.now());
    await Promise.race([Promise.allSettled(this.inFlight.map((f) => f.promise)), new Promise((r) => setTimeout(r, left).unref())]);
    await this.opts.writer.stop(deadlineMs);
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, Math.max(0, deadlineMs - Date.now())).unref())]);
    await this.committing;
  }

  async close(): Promise<void> {
    this.running = false;
    this.wakeSlot?.();
    await this.committing;
  }
}
