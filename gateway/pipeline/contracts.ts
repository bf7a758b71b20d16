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

/** A record the log refused on its own (the rest of its batch is stored). */
export interface RecordRejection {
  /** index in the appended array */
  index: number;
  /** the durable log's error code: RECORD_TOO_DEEP, RECORD_TOO_LARGE, UNENCODABLE_RECORD */
  code: string;
  message: string;
}

/** Where a source hands records. */
export interface RecordSink {
  /**
   * Appends records. Those that cannot be stored are returned at once in `rejected` (one bad
   * record never fails its batch); `durable` resolves after the fsync that covers the others,
   * and rejects only when the log as a whole cannot take them (closed, failed, full with
   * when_full: block and a timeout). `onPlaced` (../buffer/log.ts `OnPlaced`) is told the log
   * ids as records get them — some only later, when the log was full — before they can be written.
   */
  append(records: PipelineRecord[], onPlaced?: (first: number, firstId: number, count: number) => void): { rejected: RecordRejection[]; durable: Promise<void> };
  /** Asks for the pending appends' fsync now, not at the group-commit interval (someone waits on it). */
  flushSoon?(): void;
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
