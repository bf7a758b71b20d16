/**
 * The gateway's Prometheus metrics, on a registry of its own (not prom-client's global one),
 * so several gateways can run in one process (tests) without clashing.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  uplinksReceived: Counter<'source'>;
  eventsReceived: Counter<'source' | 'kind'>;
  uplinksRejected: Counter<'reason'>;
  duplicates: Counter<'source'>;
  decodeErrors: Counter<'model'>;
  undecoded: Counter<'reason'>;
  readings: Counter<'category'>;
  bufferRecords: Gauge;
  bufferBytes: Gauge;
  bufferCorrupt: Gauge;
  bufferDropped: Gauge<'sink'>;
  sinkPointsWritten: Counter<'sink'>;
  sinkErrors: Counter<'sink' | 'kind'>;
  sinkLag: Gauge<'sink'>;
  sinkDeadLettered: Counter<'sink'>;
  appendLatency: Histogram;
  rejectsDropped: Gauge;
  bufferCursorResets: Gauge;
  bufferTornTailBytes: Gauge;
  bufferLostAcknowledged: Gauge;
  bufferDiskFull: Gauge;
  bufferBlockedRecords: Gauge;
}

/** The prefix of every metric the gateway exports, its own and prom-client's defaults. */
export const METRIC_PREFIX = 'lorawan_edge_';

export function createMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  // prom-client's default names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…) under
  // our one prefix: lorawan_edge_process_cpu_seconds_total, not …_process_process_….
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const r = [registry];
  return {
    registry,
    uplinksReceived: new Counter({ name: 'lorawan_edge_uplinks_received_total', help: 'Uplinks received, per source', labelNames: ['source'], registers: r }),
    eventsReceived: new Counter({ name: 'lorawan_edge_events_received_total', help: 'Network-server events received, per source and kind (up, join, status)', labelNames: ['source', 'kind'], registers: r }),
    uplinksRejected: new Counter({ name: 'lorawan_edge_uplinks_rejected_total', help: 'Messages rejected before the log, per reason (kept in the rejects file)', labelNames: ['reason'], registers: r }),
    duplicates: new Counter({ name: 'lorawan_edge_duplicates_total', help: 'Redelivered events already in the log (acknowledged, not stored twice)', labelNames: ['source'], registers: r }),
    decodeErrors: new Counter({ name: 'lorawan_edge_decode_errors_total', help: 'Uplinks whose codec reported errors, per catalogue model', labelNames: ['model'], registers: r }),
    undecoded: new Counter({ name: 'lorawan_edge_uplinks_undecoded_total', help: 'Uplinks stored without normalized readings, per reason', labelNames: ['reason'], registers: r }),
    readings: new Counter({ name: 'lorawan_edge_readings_total', help: 'Normalized readings produced, per category', labelNames: ['category'], registers: r }),
    bufferRecords: new Gauge({ name: 'lorawan_edge_buffer_records', help: 'Records in the durable log not yet confirmed by every sink', registers: r }),
    bufferBytes: new Gauge({ name: 'lorawan_edge_buffer_bytes', help: 'Bytes of the durable log on disk', registers: r }),
    bufferCorrupt: new Gauge({ name: 'lorawan_edge_buffer_corrupt_records', help: 'Corrupt records skipped by recovery since start', registers: r }),
    bufferDropped: new Gauge({ name: 'lorawan_edge_buffer_dropped_records', help: 'Records dropped by when_full: drop_oldest, per sink', labelNames: ['sink'], registers: r }),
    sinkPointsWritten: new Counter({ name: 'lorawan_edge_sink_points_written_total', help: 'Points confirmed written, per sink', labelNames: ['sink'], registers: r }),
    sinkErrors: new Counter({ name: 'lorawan_edge_sink_errors_total', help: 'Sink errors, per sink and kind', labelNames: ['sink', 'kind'], registers: r }),
    sinkLag: new Gauge({ name: 'lorawan_edge_sink_lag_records', help: 'Records in the log the sink has not confirmed yet', labelNames: ['sink'], registers: r }),
    sinkDeadLettered: new Counter({ name: 'lorawan_edge_sink_dead_lettered_total', help: 'Lines rejected by the server and written to the dead-letter file', labelNames: ['sink'], registers: r }),
    appendLatency: new Histogram({
      name: 'lorawan_edge_buffer_append_seconds',
      help: 'From receiving an event to it being durable (group commit)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: r,
    }),
    rejectsDropped: new Gauge({ name: 'lorawan_edge_rejects_dropped', help: 'Rejected messages counted but not written to the rejects file (it reached rejects.max_bytes, or it cannot be written)', registers: r }),
    bufferCursorResets: new Gauge({ name: 'lorawan_edge_buffer_cursor_resets', help: 'Sink cursor files unreadable at open (that sink re-delivers from the oldest retained record)', registers: r }),
    bufferTornTailBytes: new Gauge({ name: 'lorawan_edge_buffer_torn_tail_bytes', help: 'Bytes cut off the last segment at open that were never acknowledged (torn tail after a crash)', registers: r }),
    bufferLostAcknowledged: new Gauge({ name: 'lorawan_edge_buffer_lost_acknowledged_records', help: 'Acknowledged (fsynced) records missing at open: damage, not a crash', registers: r }),
    bufferDiskFull: new Gauge({ name: 'lorawan_edge_buffer_disk_full', help: '1 while the durable log cannot write for lack of space (it retries), else 0', registers: r }),
    bufferBlockedRecords: new Gauge({ name: 'lorawan_edge_buffer_blocked_records', help: 'Records waiting for space in a full durable log (when_full: block); they fail after block_timeout_ms', registers: r }),
  };
}
