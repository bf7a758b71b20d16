/**
 * Adapters from the sink implementations to the runner's `PointWriter`: the InfluxDB sink
 * (batching, retries, dead letters, loud stop on 401/403/404) and the line-protocol file sink.
 */
import type { ComponentHealth } from '../pipeline/contracts.ts';
import type { PointWriter } from '../pipeline/sink-runner.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { LineProtocolFiles, type FileSinkOptions } from './file/file-sink.ts';
import type { LineBatch, Point } from './influxdb/line-protocol.ts';
import { InfluxSink, type SinkLogger, type WriteOutcome } from './influxdb/sink.ts';
import type { InfluxSinkConfigInput } from './influxdb/config.ts';

export class InfluxWriter implements PointWriter {
  readonly sink: InfluxSink;
  private lastResponses: Record<string, number> = {};
  private lastCounters = { networkErrors: 0, retries: 0, splits: 0, partialWrites: 0 };

  constructor(
    private readonly name: string,
    config: InfluxSinkConfigInput,
    logger: SinkLogger,
    private readonly metrics: GatewayMetrics,
  ) {
    this.sink = new InfluxSink(config, { logger });
    // The sink emits 'error' when it stops on a credential/config problem; without a listener
    // an EventEmitter would throw. The state is visible in health and logged by the sink.
    this.sink.on('error', () => undefined);
  }

  start(): Promise<void> {
    return this.sink.start();
  }

  write(points: readonly Point[]): Promise<{ written: number; deadLettered: number }> {
    // Not an async function: its suspended frame would keep every Point of the batch alive
    // until the batch is written (tens of thousands while InfluxDB is down); the sink holds
    // only the encoded lines.
    return this.settled(this.sink.write(points));
  }

  /** Lines a schema built directly (no Point objects), queued as they are. */
  writeBatch(batch: LineBatch): Promise<{ written: number; deadLettered: number }> {
    return this.settled(this.sink.writeBatch(batch));
  }

  private settled(written: Promise<WriteOutcome>): Promise<{ written: number; deadLettered: number }> {
    return written.then(
      (o) => {
        this.updateErrorMetrics();
        return { written: o.written, deadLettered: o.deadLettered + o.rejectedPoints.length };
      },
      (err: unknown) => {
        this.updateErrorMetrics();
        throw err;
      },
    );
  }

  /** Mirrors the sink's error counters into `lorawan_edge_sink_errors_total{sink,kind}`. */
  updateErrorMetrics(): void {
    const s = this.sink.stats();
    for (const [status, n] of Object.entries(s.responses)) {
      const before = this.lastResponses[status] ?? 0;
      if (!status.startsWith('2') && n > before) this.metrics.sinkErrors.inc({ sink: this.name, kind: `http_${status}` }, n - before);
    }
    this.lastResponses = { ...s.responses };
    for (const k of ['networkErrors', 'retries', 'splits', 'partialWrites'] as const) {
      if (s[k] > this.lastCounters[k]) this.metrics.sinkErrors.inc({ sink: this.name, kind: k }, s[k] - this.lastCounters[k]);
      this.lastCounters[k] = s[k];
    }
  }

  health(): ComponentHealth {
    const s = this.sink.stats();
    if (s.state === 'running') {
      return s.lastError && (s.lastErrorAt ?? 0) > (s.lastSuccessAt ?? 0) ? { state: 'degraded', detail: `retrying: ${s.lastError}` } : { state: 'running' };
    }
    if (s.state === 'stopped') return { state: 'failed', detail: `stopped: ${s.stoppedReason ?? 'unknown reason'} — records are kept in the buffer until this is fixed` };
    return { state: 'stopped' };
  }

  async stop(deadlineMs: number): Promise<void> {
    await this.sink.stop({ timeoutMs: Math.max(0, deadlineMs - Date.now()) });
    this.updateErrorMetrics();
  }
}

export class FileWriter implements PointWriter {
  private readonly files: LineProtocolFiles;
  private failed: string | undefined;

  constructor(opts: FileSinkOptions) {
    this.files = new LineProtocolFiles(opts);
  }

  get currentFile(): string | undefined {
    return this.files.currentFile;
  }

  async start(): Promise<void> {}

  async write(points: readonly Point[]): Promise<{ written: number; deadLettered: number }> {
    try {
      const r = this.files.write(points);
      this.failed = undefined;
      return { written: r.written, deadLettered: r.rejected };
    } catch (err) {
      // e.g. disk full: the records stay in the log and are retried.
      this.failed = (err as Error).message;
      throw err;
    }
  }

  health(): ComponentHealth {
    return this.failed ? { state: 'degraded', detail: this.failed } : { state: 'running' };
  }

  async stop(): Promise<void> {
    this.files.close();
  }
}
