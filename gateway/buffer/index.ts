/** The durable log: public surface. See `log.ts` for invariants, format, fsync policy and recovery. */
export { DurableLog, openDurableLog } from './log.ts';
export type { LogRecord, LogStats, SinkStats } from './log.ts';
export { LogReader } from './reader.ts';
export { DEFAULTS, resolveConfig } from './config.ts';
export type { DurableLogConfig, ResolvedConfig, WhenFull } from './config.ts';
export { DurableLogError, LogFullError } from './errors.ts';
export type { DurableLogErrorCode } from './errors.ts';
