/** Configuration of the durable log: keys as they appear in the gateway's YAML, defaults, checks. */
import { DurableLogError } from './errors.ts';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './format.ts';

export type WhenFull = 'block' | 'drop_oldest';

export interface DurableLogConfig {
  /** Folder of the segment and cursor files; created when missing. */
  dir: string;
  /** A segment is sealed and a new one started when the next record would make it larger. */
  segment_bytes?: number;
  /** Cap on all segment files together; at least 2 × segment_bytes. */
  max_bytes?: number;
  /** What an append does when the cap is reached. */
  when_full?: WhenFull;
  /** With `block`: how long an append may wait for space before it rejects; 0 waits forever. */
  block_timeout_ms?: number;
  /** Longest time an appended record waits for its fdatasync (group commit window). */
  fsync_interval_ms?: number;
  /** Unsynced bytes that trigger a flush before the interval ends. */
  flush_bytes?: number;
  /** Largest encoded record accepted (CBOR payload bytes). */
  max_record_bytes?: number;
  /**
   * Deepest nesting of arrays and maps a record may hold (the record itself is level 1),
   * checked before encoding: CBOR encoding recurses, and a hostile `object` nested thousands
   * deep would otherwise overflow the stack.
   */
  max_record_depth?: number;
  /**
   * Disk full (ENOSPC/EDQUOT): the first retry of the failed write waits this long; each further
   * retry doubles it, up to `disk_full_retry_max_ms`.
   */
  disk_full_retry_ms?: number;
  disk_full_retry_max_ms?: number;
  /** Sinks whose cursors exist from the start, so no segment is deleted before they first read. */
  sinks?: readonly string[];
  /** Bytes a reader fetches per read call. */
  read_chunk_bytes?: number;
  /**
   * Newest records kept in memory for readers that keep up with the writer (they skip reading
   * the files back); 0 turns it off. Bounded by count and by `read_cache_bytes` (encoded size).
   */
  read_cache_records?: number;
  read_cache_bytes?: number;
  /**
   * 0 (default): `commit()` persists the sink's cursor file and resolves once it is durable.
   * > 0: `commit()` records the position (readers see it at once) and resolves; the file is
   * written at most once per this many ms per sink (the first commit after a quiet spell at
   * once; at once too while an append waits for space) and at `close()`. A crash then
   * re-delivers up to that much more (at-least-once, as
   * every sink is); nothing is lost — segments are still deleted only behind the written cursor.
   */
  cursor_interval_ms?: number;
}

export type ResolvedConfig = Required<Omit<DurableLogConfig, 'sinks'>> & { sinks: readonly string[] };

const MiB = 1024 * 1024;

export const DEFAULTS = {
  segment_bytes: 64 * MiB,
  max_bytes: 1024 * MiB,
  when_full: 'drop_oldest',
  block_timeout_ms: 30_000,
  fsync_interval_ms: 100,
  flush_bytes: 1 * MiB,
  max_record_bytes: 1 * MiB,
  max_record_depth: 64,
  disk_full_retry_ms: 100,
  disk_full_retry_max_ms: 5_000,
  read_chunk_bytes: 1 * MiB,
  read_cache_records: 4_000,
  read_cache_bytes: 4 * MiB,
  cursor_interval_ms: 0,
} as const satisfies Omit<ResolvedConfig, 'dir' | 'sinks'>;

/** Smallest segment accepted: a header and one small frame. */
export const MIN_SEGMENT_BYTES = 256;

const SINK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkSinkName(name: string): void {
  if (!SINK_NAME.test(name)) {
    throw new DurableLogError(
      'BAD_SINK_NAME',
      `sink name ${JSON.stringify(name)} is not allowed: 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit`,
    );
  }
}

function bad(key: string, why: string): never {
  throw new DurableLogError('BAD_CONFIG', `buffer.${key}: ${why}`);
}

function int(key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) bad(key, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function resolveConfig(c: DurableLogConfig): ResolvedConfig {
  if (typeof c.dir !== 'string' || c.dir === '') bad('dir', 'must be a non-empty path');
  const segment_bytes = int('segment_bytes', c.segment_bytes ?? DEFAULTS.segment_bytes, MIN_SEGMENT_BYTES);
  const max_bytes = int('max_bytes', c.max_bytes ?? DEFAULTS.max_bytes, 1);
  if (max_bytes < 2 * segment_bytes) bad('max_bytes', `must be at least 2 × segment_bytes (${2 * segment_bytes}), got ${max_bytes}`);
  const when_full = c.when_full ?? DEFAULTS.when_full;
  if (when_full !== 'block' && when_full !== 'drop_oldest') bad('when_full', `must be "block" or "drop_oldest", got ${JSON.stringify(when_full)}`);
  const block_timeout_ms = int('block_timeout_ms', c.block_timeout_ms ?? DEFAULTS.block_timeout_ms, 0);
  const fsync_interval_ms = int('fsync_interval_ms', c.fsync_interval_ms ?? DEFAULTS.fsync_interval_ms, 0);
  const flush_bytes = int('flush_bytes', c.flush_bytes ?? DEFAULTS.flush_bytes, 1);
  const roomInSegment = segment_bytes - SEGMENT_HEADER_BYTES - FRAME_HEADER_BYTES;
  const max_record_bytes = int('max_record_bytes', c.max_record_bytes ?? Math.min(DEFAULTS.max_record_bytes, roomInSegment), 1);
  if (max_record_bytes > roomInSegment) bad('max_record_bytes', `must fit in one segment (<= ${roomInSegment} with segment_bytes ${segment_bytes})`);
  const max_record_depth = int('max_record_depth', c.max_record_depth ?? DEFAULTS.max_record_depth, 4);
  if (max_record_depth > 1000) bad('max_record_depth', `must be at most 1000 (deeper nesting overflows the encoder's stack), got ${max_record_depth}`);
  const disk_full_retry_ms = int('disk_full_retry_ms', c.disk_full_retry_ms ?? DEFAULTS.disk_full_retry_ms, 1);
  const disk_full_retry_max_ms = int('disk_full_retry_max_ms', c.disk_full_retry_max_ms ?? DEFAULTS.disk_full_retry_max_ms, disk_full_retry_ms);
  const read_chunk_bytes = int('read_chunk_bytes', c.read_chunk_bytes ?? DEFAULTS.read_chunk_bytes, 4096);
  const read_cache_records = int('read_cache_records', c.read_cache_records ?? DEFAULTS.read_cache_records, 0);
  const read_cache_bytes = int('read_cache_bytes', c.read_cache_bytes ?? DEFAULTS.read_cache_bytes, 0);
  const cursor_interval_ms = int('cursor_interval_ms', c.cursor_interval_ms ?? DEFAULTS.cursor_interval_ms, 0);
  const sinks = c.sinks ?? [];
  if (!Array.isArray(sinks)) bad('sinks', 'must be a list of sink names');
  for (const s of sinks) checkSinkName(s);
  return {
    dir: c.dir,
    segment_bytes,
    max_bytes,
    when_full,
    block_timeout_ms,
    fsync_interval_ms,
    flush_bytes,
    max_record_bytes,
    max_record_depth,
    disk_full_retry_ms,
    disk_full_retry_max_ms,
    read_chunk_bytes,
    read_cache_records,
    read_cache_bytes,
    cursor_interval_ms,
    sinks,
  };
}
