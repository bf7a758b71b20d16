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

export function createPlannerJob(config: GatewayConfig, logger: Logger, metrics: GatewayMetrics, now: () => number): BinStateJob | undefined {
  const { web } = config;
  if (!web.store.enabled || !web.planner.enabled) return undefined;
  const log = logger.child({ job: 'bin_state' });
  const sinkLog = { info: (m: string, d?: object) => log.info(d ?? {}, m), warn: (m: string, d?: object) => log.warn(d ?? {}, m), error: (m: string, d?: object) => log.error(d ?? {}, m) };
  const writers = config.sinks.flatMap((s) => {
    if (s.type !== 'influxdb') return [];
    const { type: _t, name: _n, schema: _s, ...influx } = s;
    // Its own dead-letter file: two writers appending to the sink's one would interleave.
    const own = { ...influx, dead_letter_file: join(config.data_dir, `${s.name}.bin-state.dead-letter.jsonl`) };
    return [{ name: s.name, writer: new InfluxWriter(`${s.name}:bin_state`, own, sinkLog, metrics) }];
  });
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
