/**
 * The durable InfluxDB output without Node-RED: the gateway's durable log (gateway/buffer) with
 * one cursor, driven into the gateway's InfluxDB sink by the gateway's SinkRunner, with the
 * gateway's schemas (native or ChirpStack-compatible). This file only wires them together.
 *
 * `append()` resolves when the record is durable (after the fsync that covers it, group commit):
 * the node calls `done()` for a message only then. Appends arriving in one turn of the event
 * loop go to the log as one batch (one promise and one frame write per batch).
 *
 * A restart of Node-RED or an InfluxDB outage loses nothing that was appended: the records stay
 * in the log until InfluxDB confirms them, and the cursor moves only over confirmed records.
 * Replays after a crash overwrite themselves in InfluxDB (points carry the uplink's own time).
 */
import { DurableLog, type DurableLogConfig } from '../../gateway/buffer/index.ts';
import { createMetrics } from '../../gateway/metrics.ts';
import type { RecordSink } from '../../gateway/pipeline/contracts.ts';
import type { PipelineRecord, UplinkRecord } from '../../gateway/pipeline/record.ts';
import { RECORD_WIRE } from '../../gateway/pipeline/record-wire.ts';
import { SinkRunner } from '../../gateway/pipeline/sink-runner.ts';
import { chirpstackPoints } from '../../gateway/schema/chirpstack.ts';
import { nativeLines, nativePoints } from '../../gateway/schema/native.ts';
import type { InfluxSinkConfigInput } from '../../gateway/sinks/influxdb/config.ts';
import type { SinkLogger } from '../../gateway/sinks/influxdb/sink.ts';
import { InfluxWriter } from '../../gateway/sinks/writers.ts';

export const SINK_NAME = 'influxdb';

export type Schema = 'native' | 'chirpstack';

export interface DurableInfluxOptions {
  /** Folder of the log's segments and cursor (one per node). */
  dir: string;
  influx: InfluxSinkConfigInput;
  schema: Schema;
  /** Durable log settings other than dir/sinks (max_bytes, when_full, fsync_interval_ms…). */
  log?: Omit<DurableLogConfig, 'dir' | 'sinks'>;
  logger: SinkLogger;
}

export interface DurableInfluxStatus {
  /** Records in the log that InfluxDB has not confirmed yet. */
  buffered: number;
  /** Seconds since nothing was buffered (0 while keeping up). */
  lagSeconds: number;
  state: 'running' | 'degraded' | 'failed' | 'stopped' | string;
  detail?: string;
  pointsWritten: number;
  dropped: number;
}

export class DurableInflux {
  private readonly log: DurableLog<PipelineRecord>;
  private readonly writer: InfluxWriter;
  private readonly runner: SinkRunner;
  private batch: PipelineRecord[] = [];
  private batchDone: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private scheduled = false;
  private caughtUpAt = Date.now();
  private started = false;

  constructor(private readonly o: DurableInfluxOptions) {
    const metrics = createMetrics({ defaultMetrics: false });
    this.log = new DurableLog<PipelineRecord>({ ...o.log, dir: o.dir, sinks: [SINK_NAME] }, { wire: RECORD_WIRE });
    this.writer = new InfluxWriter(SINK_NAME, o.influx, o.logger, metrics);
    this.runner = new SinkRunner({
      name: SINK_NAME,
      type: 'influxdb',
      log: this.log,
      writer: this.writer,
      toPoints: o.schema === 'chirpstack' ? (r) => chirpstackPoints(r) : nativePoints,
      ...(o.schema === 'native' ? { toLines: nativeLines } : {}),
      metrics,
      onError: (err) => o.logger.warn('InfluxDB sink gave up on a batch; it will be delivered again', { err: err.message }),
    });
  }

  async start(): Promise<void> {
    await this.log.open();
    const st = this.log.stats();
    if (st.corrupt_records || st.truncated_bytes) this.o.logger.warn('durable log recovered from damage', { corrupt_records: st.corrupt_records, truncated_bytes: st.truncated_bytes });
    await this.runner.start();
    this.started = true;
  }

  /** Resolves when the record is durable; rejects when the log refuses it (closed, full with block). */
  append(record: PipelineRecord): Promise<void> {
    if (!this.started) return Promise.reject(new Error('the durable log is not open (starting or closed)'));
    return new Promise<void>((resolve, reject) => {
      this.batch.push(this.slim(record));
      this.batchDone.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The log as the gateway's sources see it (`RecordSink`: per-record rejections, one promise
   * per batch): what `lorawan mqtt in` appends through, acknowledging to the broker only when
   * `durable` resolves.
   */
  recordSink(): RecordSink {
    return {
      append: (records) => {
        if (!this.started) return { rejected: [], durable: Promise.reject(new Error('the durable log is not open (starting or closed)')) };
        const r = this.log.appendEach(records.map((x) => this.slim(x)));
        return { rejected: r.rejected.map((x) => ({ index: x.index, code: x.error.code, message: x.error.message })), durable: r.durable.then(() => undefined) };
      },
    };
  }

  /**
   * The native schema writes readings, not the codec's `data` object, which is half of a
   * record's bytes and CBOR time: leave it out of the log where there are readings (the
   * gateway does the same, DecodeContext.keepCodecData). The stored payload reproduces it.
   */
  private slim(record: PipelineRecord): PipelineRecord {
    const d = record.kind === 'up' ? record.decoded : undefined;
    if (this.o.schema === 'native' && d && d.data !== undefined && d.readings.length > 0) {
      return { ...(record as UplinkRecord), decoded: { model: d.model, readings: d.readings, warnings: d.warnings, errors: d.errors, by: d.by } };
    }
    return record;
  }

  private flush(): void {
    this.scheduled = false;
    const records = this.batch;
    const waiters = this.batchDone;
    this.batch = [];
    this.batchDone = [];
    if (records.length === 0) return;
    this.log.appendBatch(records).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        // One bad record (too large for the log) must not fail the records appended with it:
        // nothing of a refused batch was stored, so each is appended on its own.
        if (records.length === 1 || !this.started) {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const w of waiters) w.reject(e);
          return;
        }
        records.forEach((r, i) => {
          const w = waiters[i] as (typeof waiters)[number];
          this.log.appendBatch([r]).then(() => w.resolve(), (e: unknown) => w.reject(e instanceof Error ? e : new Error(String(e))));
        });
      },
    );
  }

  status(now = Date.now()): DurableInfluxStatus {
    const s = this.log.isOpen ? this.log.stats().sinks[SINK_NAME] : undefined;
    const buffered = s?.lag ?? 0;
    if (buffered === 0) this.caughtUpAt = now;
    const h = this.runner.health();
    return {
      buffered,
      lagSeconds: Math.round((now - this.caughtUpAt) / 1000),
      state: this.started ? h.state : 'stopped',
      ...(h.detail ? { detail: h.detail } : {}),
      pointsWritten: this.writer.sink.stats().writtenLines,
      dropped: s?.dropped_records ?? 0,
    };
  }

  /** Stops taking records, lets InfluxDB confirm what it can before the deadline, closes the log. */
  async close(deadlineMs = Date.now() + 5_000): Promise<void> {
    if (this.scheduled) this.flush();
    this.started = false;
    try {
      await this.runner.stop(deadlineMs);
      await this.runner.close();
    } finally {
      if (this.log.isOpen) await this.log.close();
    }
  }
}
