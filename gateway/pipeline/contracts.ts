/**
 * The pipeline's contracts. Every component follows the same lifecycle (Fastify's build/run
 * split): the constructor/factory does no I/O and fails fast on bad configuration; `start()`
 * acquires resources (sockets, files) and begins work; `stop()` stops taking new work and
 * drains what is in flight (bounded by a deadline); `close()` releases everything and is
 * idempotent. The gateway starts components in order (buffer → sinks → sources) and stops them
 * in reverse, so a source never hands a record to a closed log and a sink never misses one.
 */
import type { PipelineRecord } from './record.ts';

export type ComponentState = 'built' | 'starting' | 'running' | 'degraded' | 'stopped' | 'failed';

export interface ComponentHealth {
  state: ComponentState;
  /** Human-readable reason when not running normally (never contains secrets). */
  detail?: string;
}

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stop taking work and drain, giving up at `deadlineMs` (absolute, Date.now() based). */
  stop(deadlineMs?: number): Promise<void>;
  close(): Promise<void>;
  health(): ComponentHealth;
}

/** Where a source hands records; resolves when the records are durable (fsynced). */
export interface RecordSink {
  /** Appends records; resolves after the fsync that covers them. Rejects when the log is closed or full (when_full: block with timeout). */
  append(records: PipelineRecord[]): Promise<void>;
}

export interface Source extends Component {
  readonly type: string;
}

/** A sink reads records after its cursor and confirms them; its cursor only moves on success. */
export interface Sink extends Component {
  readonly type: string;
  /** Records written but not yet confirmed (for the lag metric). */
  pending(): number;
}
