/**
 * The bin_state job for `createGateway()`: one InfluxDB writer per configured InfluxDB sink (its
 * own connection and batching, the sink's settings), the job's durable log in
 * `<data_dir>/planner-log`. Undefined when the local store or `web.planner.enabled` is off, or no
 * InfluxDB sink is configured (the job then still fills `planner_bin_state`).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { InfluxWriter } from '../sinks/writers.ts';
import { PLANNER_DEFAULTS } from '../web/store/planner-store.ts';
import { BinStateJob } from './bin-state-job.ts';
import { RiverAlarmJob } from './river-alarm-job.ts';

/** One InfluxDB writer per InfluxDB sink for a job (`bin_state`, `river_alarm`), and the job's logger. */
function jobWriters(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, job: string): { log: Logger; writers: { name: string; writer: InfluxWriter }[] } {
  const log = logger.child({ job });
  const sinkLog = { info: (m: string, d?: object) => log.info(d ?? {}, m), warn: (m: string, d?: object) => log.warn(d ?? {}, m), error: (m: string, d?: object) => log.error(d ?? {}, m) };
  const writers = config.sinks.flatMap((s) => {
    if (s.type !== 'influxdb') return [];
    const { type: _t, name: _n, schema: _s, ...influx } = s;
    // Its own dead-letter file: two writers appending to the sink's one would interleave.
    const own = { ...influx, dead_letter_file: join(config.data_dir, `${s.name}.${job.replace('_', '-')}.dead-letter.jsonl`) };
    return [{ name: s.name, writer: new InfluxWriter(`${s.name}:${job}`, own, sinkLog, metrics) }];
  });
  return { log, writers };
}

export function createPlannerJob(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, now: () => number): BinStateJob | undefined {
  const { web } = config;
  if (!web.store.enabled || !web.planner.enabled) return undefined;
  const { log, writers } = jobWriters(config, logger, metrics, 'bin_state');
  return new BinStateJob({
    storeFile: web.store.file,
    logDir: join(config.data_dir, 'planner-log'),
    writers,
    intervalMs: web.planner.interval_s * 1000,
    planner: { ...PLANNER_DEFAULTS, roundTime: web.planner.round_time, thresholdPct: web.planner.threshold_pct, groupBy: web.commune_tag },
    now,
    onError: (what, err) => log.warn({ err: (err as Error).message }, `${what} failed; retrying`),
  });
}

/**
 * The river_alarm job (flood watch) for `createGateway()`: undefined when the local store or
 * `web.flood.enabled` is off. Its durable log is `<data_dir>/flood-log`.
 */
export function createFloodJob(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, now: () => number): RiverAlarmJob | undefined {
  const { web } = config;
  if (!web.store.enabled || !web.flood.enabled) return undefined;
  const { log, writers } = jobWriters(config, logger, metrics, 'river_alarm');
  return new RiverAlarmJob({
    storeFile: web.store.file,
    logDir: join(config.data_dir, 'flood-log'),
    writers,
    intervalMs: web.flood.interval_s * 1000,
    flood: web.flood,
    now,
    onError: (what, err) => log.warn({ err: (err as Error).message }, `${what} failed; retrying`),
  });
}
