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
import type { DurableLog } from '../buffer/index.ts';
import type { Point } from '../sinks/influxdb/line-protocol.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ComponentHealth, Sink } from './contracts.ts';
import type { PipelineRecord } from './record.ts';

/** What the runner needs from a sink implementation. */
export interface PointWriter {
  /** Resolves when every point is settled; the count of points actually written. */
  write(points: readonly Point[]): Promise<{ written: number; deadLettered: number }>;
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
  metrics: GatewayMetrics;
  /** Records per read from the log. Default 2,000. */
  batchRecords?: number;
  /** Batches handed to the writer before the oldest has settled. Default 8 (see below). */
  maxInFlight?: number;
  onError?: (err: Error) => void;
}

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
        const records = await reader.read(this.batchRecords, 250);
        if (records.length === 0) continue;
        const points: Point[] = [];
        const toPoints = this.opts.toPoints;
        for (const r of records) for (const p of toPoints(r.value)) points.push(p);
        const entry: InFlight = { lastId: (records[records.length - 1] as { id: number }).id, done: false, failed: false, promise: Promise.resolve() };
        entry.promise = this.opts.writer.write(points).then(
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
