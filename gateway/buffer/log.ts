/**
 * The gateway's durable log: every record a source hands over is kept on disk, across crashes and
 * power cuts, until every sink has confirmed it.
 *
 * ## Invariants
 *
 * I1. `append()` / `appendBatch()` resolve only after the fdatasync that covers the record's bytes
 *     (and, when the record opened a new segment, the fsync of the folder). A source acks upstream
 *     (MQTT PUBACK) only then; a power cut loses only records whose promise had not resolved.
 * I2. Ids are 1, 2, 3, … in call order, strictly increasing within and across segments and across
 *     restarts (u64 on disk, exact in a JS number up to 2^53 - 1). After a restart the next id is
 *     past every valid record on disk, past every sink's cursor and past the last id the SYNCED
 *     mark saw durable. Only ids of records that were never durable (cut off as a torn tail) can
 *     be handed out again.
 * I3. Readers see durable records only, in id order, and only ids above their sink's cursor —
 *     also when a caught-up reader takes them from the in-memory tail cache (tail-cache.ts):
 *     the cache hands out ids up to the last durable id only.
 * I4. A cursor (one per sink) is the id of the last record that sink has finished with. It is
 *     persisted atomically (temp file, fsync, rename, fsync folder) and never moves backwards —
 *     at each `commit()`, or with `cursor_interval_ms` > 0 at most once per interval per sink and
 *     at `close()` (a crash then re-delivers up to that much more: at-least-once, never loss).
 * I5. A segment file is deleted only when the writer has moved on to a newer segment that exists
 *     on disk, all its bytes are durable, and every persisted cursor is at or past its last id.
 *     With no sink at all nothing is deleted (data nobody has read is not thrown away). The one
 *     exception is `when_full: 'drop_oldest'`, which deletes the oldest sealed segment when the
 *     size cap is hit even if cursors are behind, and counts per sink the records it never got.
 *     Either way the newest segment on disk is never deleted, so its base id keeps I2 true.
 * I6. Nothing is invented: a record is returned only if its marker, length, CRC and id order all
 *     check. Damage is cut (torn tail) or skipped and counted (corrupt record), never repaired.
 * I7. Damaged data never stops `open()`: it cuts, skips and counts. Only a segment written by a
 *     newer format version (a downgrade) is refused, loudly, instead of being dropped.
 * I8. After `close()` no timer, file handle or pending promise of the log remains.
 * I9. One bad record never fails its neighbours: `appendEach()` checks every record on its own
 *     (nesting depth first — without unbounded recursion, since a record nested thousands deep
 *     would overflow the stack: measured while writing for plain values, cbor-writer.ts, whose
 *     recursion stops at max_record_depth ≤ 256, else by an iterative walk before cbor-x
 *     encodes — then encoding, then size) and reports the ones it refuses, storing the others.
 * I10. A full disk is not a failure: a write or fsync that fails with ENOSPC/EDQUOT keeps its
 *     batch (in memory, unacknowledged) and retries it with a bounded backoff until it succeeds;
 *     meanwhile `writeStall()` says why, and `when_full` applies (see "fsync policy").
 * I11. One process per folder, by an OS lock the kernel releases when the process dies (no
 *     stale lock, no PID guessing).
 *
 * ## On-disk format (version 1; little-endian on every machine, so files are portable)
 *
 *   <dir>/00000000000000000001.seg   segment files, named by base id (20 digits: name order = id order)
 *   <dir>/sink-<name>.cursor         one per sink: {"format":1,"sink":"<name>","committed":<id>}
 *   <dir>/sink-<name>.cursor.corrupt a cursor file that could not be read at open, kept aside
 *   <dir>/SYNCED                     32 bytes: how far the active segment was durable at the last
 *                                    flush (format in synced-mark.ts); advisory, never fsync'ed
 *   <dir>/LOCK                       a small SQLite database the open log holds an exclusive fcntl
 *                                    lock on (files.ts; never deleted). A LOCK holding a PID (the
 *                                    format before) is replaced.
 *   Any other file is ignored and left alone.
 *
 *   Segment header, 20 bytes:
 *     0  u32  magic 0x474C574C ("LWLG")
 *     4  u16  format version (1)
 *     6  u16  header length (20)
 *     8  u64  base id: every record in the file has an id >= base id, and < the next file's base id
 *    16  u32  CRC-32 of bytes 0..15
 *   then frames, back to back, never spanning two files:
 *     0  4 B  sync marker FE 4C 57 52 ("\xFELWR"; 0xFE is neither UTF-8 nor a CBOR initial byte)
 *     4  u32  CRC-32 of bytes 8 .. 20+length (length, id and payload)
 *     8  u32  payload length
 *    12  u64  record id
 *    20  payload: one self-contained CBOR data item (cbor-x without shared structures or record
 *        extensions, so every record decodes on its own; byte strings untagged)
 *   CRC-32 is zlib's (IEEE 802.3). The sync marker is what lets recovery resynchronise after a
 *   damaged frame: scan forward for the next marker that opens a frame whose CRC and id check.
 *
 * ## fsync policy (group commit)
 *
 * Appends are encoded and framed at once into an in-memory batch (ids assigned immediately). The
 * batch is written with one positional write per segment it touches, then one fdatasync, when the
 * first record in it has waited `fsync_interval_ms` (default 100 ms) or the batch reaches
 * `flush_bytes` (default 1 MiB), whichever comes first; only then do the batch's promises resolve.
 * Cursor files: one atomic write per `commit()` (one at a time per sink: commits meanwhile are
 * covered by the next write), or at most one per `cursor_interval_ms` when that is set.
 * A caller with someone waiting on the durability (the edge network server's ACK or join-accept,
 * whose receive window is running) may ask for the pending batch now (`flushSoon()`).
 * One flush runs at a time; records arriving meanwhile form the next batch. On rotation the old
 * segment is fdatasync'ed and closed, the new file is created with O_EXCL, and the folder is
 * fsync'ed before any record in the new file is acknowledged. After the fdatasync the SYNCED mark
 * is rewritten (one positional write, no fsync). A write or fsync failing for lack of space
 * (ENOSPC, EDQUOT) keeps the batch and retries it after `disk_full_retry_ms`, doubling up to
 * `disk_full_retry_max_ms`: positional writes rewrite exactly the same bytes at the same offsets,
 * and a segment created by a failed attempt is reopened, its header written again. While it
 * fails nothing new is placed: appends wait (with `block` they reject with LOG_FULL after
 * `block_timeout_ms`); with `drop_oldest` the oldest sealed segment is deleted to make room (and
 * counted like a size-cap drop) before the next attempt. Any other failed write or fsync puts the
 * log in a failed state: pending and later appends reject (the bytes on disk are no longer known),
 * the log must be reopened, and reads of durable data keep working.
 *
 * ## Recovery (open)
 *
 * 1. Create the folder if needed (and fsync its parent, so a new folder survives a power cut).
 *    Take the LOCK (refused at once with LOG_LOCKED while another process holds it); read the
 *    SYNCED mark; delete leftover `*.cursor.tmp` files; read the cursors. An unreadable cursor
 *    restarts that sink at 0 — the safest position: a segment is deleted only once every cursor
 *    had passed it, so all this sink may not have delivered is still after 0; re-delivery, never
 *    loss — is counted (`cursor_resets`), noted (`recoveryNotes()`, which the gateway logs) and
 *    the file is kept as `sink-<name>.cursor.corrupt`.
 * 2. List the segment files (regular files only); check each header (a bad header falls back
 *    to the base id in the file name; a header of another format version stops the open with
 *    UNSUPPORTED_FORMAT).
 * 3. Scan the last segment (the only one a crash can leave half-written, since a segment is
 *    synced before the next is created) frame by frame: an invalid region followed by a valid
 *    frame is corruption, skipped and counted; an invalid region with no valid frame after it is
 *    the torn tail: the file is truncated to the end of the last valid frame and fsync'ed. A
 *    header that is missing or damaged is rewritten. The SYNCED mark tells what was cut apart:
 *    bytes past the mark were never acknowledged (`truncated_bytes`, a torn tail: expected after
 *    a crash); records up to the mark's last id that are not there had been fsync'ed and
 *    acknowledged (`lost_acknowledged_records`/`_bytes`: damage, not a crash). Both are noted.
 *    (No mark — a log written before it existed — counts every cut byte as torn tail.)
 * 4. Next id = max(last valid id + 1, the last segment's base id, highest cursor + 1, the mark's
 *    last id + 1).
 * 5. Delete segments every cursor has passed (a crash between a cursor write and an unlink
 *    leaves them; a segment deleted before the cursor that allowed it was durable cannot exist,
 *    because deletion waits for the cursor's fsync).
 *
 * Sealed segments are not scanned at open (a large backlog would delay start-up): readers verify
 * every frame as they read, skip damaged ones the same way and count them, once per damaged
 * region however many sinks pass it. The number of records lost in a damaged region is exact,
 * because ids are consecutive: the id of the next valid frame (or the next segment's base id)
 * minus the last valid id minus one.
 */
import { Decoder, Encoder } from 'cbor-x';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkSinkName, resolveConfig } from './config.ts';
import type { DurableLogConfig, ResolvedConfig } from './config.ts';
import { DurableLogError, LogFullError } from './errors.ts';
import { TOO_DEEP, writeCbor, writeCborWith, type CborOut } from './cbor-writer.ts';
import { nestsDeeperThan } from './depth.ts';
import { acquireLock, errno, fsyncDir, writeAll, writeFileAtomic } from './files.ts';
import { SyncedMark, readSynced, type SyncedState } from './synced-mark.ts';
import {
  FRAME_HEADER_BYTES,
  FrameScanner,
  SEGMENT_HEADER_BYTES,
  Scan,
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentFileName,
  segmentFileName,
  writeFrame,
} from './format.ts';
import { LogReader } from './reader.ts';
import { TailCache } from './tail-cache.ts';
import type { ReaderHost, Segment } from './reader.ts';

/**
 * How values become CBOR and back: `encode` gives what is CBOR-encoded into the frame,
 * `decode` turns what CBOR decoding gave back into the value (and throws on a value it does not
 * recognise: the reader then counts the frame as damaged). Without it values are encoded as
 * they are.
 */
export interface WireCodec<T> {
  encode(value: T): unknown;
  decode(wire: unknown): T;
  /**
   * Optional: writes exactly what CBOR-encoding `encode(value)` would give, straight to the
   * writer (no intermediate value); a value it cannot write (cbor-writer.ts) falls back to
   * `encode`.
   */
  write?(value: T, out: CborOut): void;
}

export interface DurableLogOptions<T> {
  wire?: WireCodec<T>;
}

export interface LogRecord<T> {
  readonly id: number;
  readonly value: T;
}

export interface SinkStats {
  /** Persisted cursor: id of the last record this sink confirmed. */
  committed: number;
  /** Durable records after the cursor that are still on disk (not yet committed by this sink). */
  lag: number;
  /** Records deleted by `drop_oldest` before this sink committed them (since open). */
  dropped_records: number;
}

export interface LogStats {
  /** Ids retained: from the oldest segment's base id to the last durable id. */
  records: number;
  /** Records appended and waiting for the next fdatasync. */
  pending_records: number;
  /** Size of all segment files, headers and not-yet-synced bytes included. */
  bytes: number;
  segments: number;
  /** Oldest id that may still be on disk. */
  first_id: number;
  /** Last durable id (every id up to it was acknowledged). */
  last_id: number;
  /** Id the next append gets. */
  next_id: number;
  sinks: Record<string, SinkStats>;
  /** Records skipped because their frame was damaged (bad marker, length, CRC or id order). */
  corrupt_records: number;
  /**
   * Bytes cut off the end of the last segment at open that were never acknowledged (a torn
   * tail: the append's promise had not resolved, so the source had not acked it upstream).
   */
  truncated_bytes: number;
  /**
   * Records (and bytes) that were acknowledged — fdatasync'ed, per the SYNCED mark — but were
   * not found at open: damage to data the writer had made durable (a lying disk, a file
   * truncated by something else). 0 after any clean or crash-only history.
   */
  lost_acknowledged_records: number;
  lost_acknowledged_bytes: number;
  /** Damaged segment headers rewritten at open. */
  header_repairs: number;
  /**
   * Cursor files that could not be read at open: that sink restarts at the oldest retained
   * record (re-delivery, never loss); the file is kept as `sink-<name>.cursor.corrupt`.
   */
  cursor_resets: number;
  /** Records rejected by appendEach because they could not be encoded, were too deep or too large. */
  rejected_records: number;
  /** Writes that failed with ENOSPC/EDQUOT and were retried (disk full). */
  disk_full_retries: number;
  /** Since when (ms since epoch) writing has been failing for lack of space; 0 when writing works. */
  disk_full_since: number;
  /** Records deleted by `drop_oldest` before every sink had committed them. */
  records_dropped: number;
  /** Segments deleted by `drop_oldest`. */
  segments_dropped: number;
  /** Segments deleted because every sink had committed them. */
  segments_deleted: number;
  /** Appends now waiting for space (`block`). */
  blocked_appends: number;
  /** Appends rejected because no space was freed in time. */
  block_timeouts: number;
  /** Records appended since open. */
  appended_records: number;
  /** fdatasync/fsync calls on segment files and the folder since open. */
  fsyncs: number;
  fsync_seconds_total: number;
  fsync_last_ms: number;
  fsync_max_ms: number;
  /** Unlinks or folder syncs that failed during segment deletion (retried at next open). */
  delete_errors: number;
  /** Cursor files written (each is two fsyncs: the file and the folder). */
  cursor_writes: number;
}

interface Cursor {
  name: string;
  /** Highest id the sink asked to commit (what readers skip to). */
  requested: number;
  /** Highest id persisted in the cursor file (what deletion trusts); -1 before the file exists. */
  durable: number;
  dropped: number;
  writing: Promise<void> | undefined;
  /** `cursor_interval_ms` > 0: the pending write, when the last one started, and its failure (the next commit() rejects with it) */
  timer?: NodeJS.Timeout | undefined;
  lastWriteAt?: number;
  failed?: Error | undefined;
}

/** Records placed into the pending batch for one segment. */
interface PendingGroup {
  seg: Segment;
  /** File offset where `buf` goes. */
  start: number;
  buf: Buffer;
  len: number;
}

type Settle = (err?: Error) => void;

interface Waiter<T> {
  payloads: Uint8Array[];
  /** What was appended (for the tail cache), index for index with payloads. */
  values: readonly T[];
  ids: number[];
  settle: Settle;
  timer: NodeJS.Timeout | undefined;
  /** appendEach's `onPlaced`: told each run of ids as it is given, before any flush can write it */
  placed?: OnPlaced | undefined;
}

/**
 * Ids given to records of one appendEach call: `count` stored values from index `first` (among
 * the stored ones, i.e. without the rejected) got `firstId`, `firstId + 1`, …. Called
 * synchronously when they are placed — inside appendEach for what fits at once, later (a turn of
 * the event loop that freed space) for what had to wait — and before the flush that writes them
 * can start, so a caller that noted where they would go can correct its note first. It should
 * not throw (a throw is ignored).
 */
export type OnPlaced = (first: number, firstId: number, count: number) => void;

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** Something recovery found and the operator should hear about (the gateway logs each). */
export type RecoveryNote =
  | { kind: 'cursor_reset'; sink: string; file: string; reason: string; restart_after: number }
  | { kind: 'torn_tail'; segment: string; bytes: number }
  | { kind: 'lost_acknowledged'; segment: string; records: number; bytes: number; synced_last_id: number; found_last_id: number };

/** A record appendEach refused (the others of the batch are stored). */
export interface RejectedValue {
  index: number;
  error: DurableLogError;
}

/** Why the log cannot write right now (disk full), while it retries. */
export interface WriteStall {
  reason: string;
  since: number;
  retries: number;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

const CURSOR_FILE = /^sink-(.+)\.cursor$/;
const cursorFileName = (sink: string) => `sink-${sink}.cursor`;

export class DurableLog<T = unknown> implements ReaderHost<T> {
  readonly config: ResolvedConfig;
  readonly dir: string;

  /** Segments oldest first; the last is the one being written (it may not exist on disk yet). */
  segments: Segment[] = [];
  lastDurableId = 0;

  private state: State = 'new';
  private failed: DurableLogError | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private unlock: (() => Promise<void>) | undefined;

  private readonly wire: WireCodec<T> | undefined;
  private readonly tail: TailCache<T>;
  private readonly encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true, pack: false });
  private readonly decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true });

  private nextIdValue = 1;
  private totalBytes = 0;

  private fh: FileHandle | undefined;
  private fhSeg: Segment | undefined;
  private groups: PendingGroup[] = [];
  private acks: Settle[] = [];
  private pendingBytes = 0;
  private pendingCount = 0;
  private pendingSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** flushSoon() during a running flush: the next one starts as soon as it ends */
  private urgent = false;
  private waiting: Waiter<T>[] = [];

  private readonly cursors = new Map<string, Cursor>();
  private readonly cursorWrites = new Set<Promise<unknown>>();
  private unlinkQueue: string[] = [];
  private unlinking: Promise<void> | undefined;
  private readonly durableWaiters = new Set<() => void>();
  private readonly readers = new Set<LogReader<T>>();
  private readonly corruptSeen = new Set<string>();
  private readonly notes: RecoveryNote[] = [];
  private synced: SyncedMark | undefined;
  /** Set while writes fail with ENOSPC; the pending batch is kept and retried. */
  private stall: WriteStall | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A segment file was created and the folder not fsync'ed since (kept across a retried flush). */
  private dirDirty = false;

  private readonly counters = {
    corrupt_records: 0,
    truncated_bytes: 0,
    lost_acknowledged_records: 0,
    lost_acknowledged_bytes: 0,
    header_repairs: 0,
    cursor_resets: 0,
    rejected_records: 0,
    disk_full_retries: 0,
    records_dropped: 0,
    segments_dropped: 0,
    segments_deleted: 0,
    block_timeouts: 0,
    appended_records: 0,
    fsyncs: 0,
    fsync_seconds_total: 0,
    fsync_last_ms: 0,
    fsync_max_ms: 0,
    delete_errors: 0,
    cursor_writes: 0,
  };

  constructor(config: DurableLogConfig, options: DurableLogOptions<T> = {}) {
    this.config = resolveConfig(config);
    this.dir = this.config.dir;
    this.wire = options.wire;
    this.tail = new TailCache<T>(this.config.read_cache_records, this.config.read_cache_bytes);
  }

  /** Builds and opens a log in one step. */
  static async open<T = unknown>(config: DurableLogConfig, options: DurableLogOptions<T> = {}): Promise<DurableLog<T>> {
    const log = new DurableLog<T>(config, options);
    await log.open();
    return log;
  }

  /** The id the next appended record gets. */
  get nextId(): number {
    return this.nextIdValue;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  // ── lifecycle ────────────────────────────────────────────────────────────────────────────────

  /** Recovers the folder (see the top of this file) and makes the log ready. */
  open(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new DurableLogError('LOG_NOT_OPEN', `durable log ${this.dir}: open() may be called once`));
    this.state = 'opening';
    this.opening = (async () => {
      try {
        await this.recover();
        this.state = 'open';
      } catch (err) {
        await this.fh?.close().catch(() => undefined);
        this.fh = undefined;
        await this.synced?.close();
        this.synced = undefined;
        await this.unlock?.();
        this.unlock = undefined;
        this.state = 'closed';
        throw err;
      }
    })();
    return this.opening;
  }

  /**
   * Flushes and fsyncs what was appended, finishes cursor writes, closes readers and files.
   * Appends still waiting for space reject with LOG_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return Promise.resolve();
    }
    this.closing ??= (async () => {
      await this.opening?.catch(() => undefined);
      if (this.state !== 'closed') await this.shutdown();
    })();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    const closed = new DurableLogError('LOG_CLOSED', `durable log ${this.dir} was closed`);
    this.tail.clear();
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.settle(closed);
    }
    while (this.flushing || this.pendingCount > 0) {
      if (!this.flushing) this.startFlush();
      await this.flushing;
    }
    this.clearTimer();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    // cursor_interval_ms: what the sinks committed since the last write is written now.
    const last: Promise<void>[] = [];
    for (const c of this.cursors.values()) {
      clearTimeout(c.timer);
      c.timer = undefined;
      if (c.durable < c.requested) last.push(this.persistCursor(c, c.requested));
    }
    await Promise.allSettled([...this.cursorWrites, ...last]);
    await this.unlinking;
    this.state = 'closed';
    for (const wake of [...this.durableWaiters]) wake();
    await Promise.allSettled([...this.readers].map((r) => r.close()));
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    this.fhSeg = undefined;
    await this.synced?.close();
    this.synced = undefined;
    await this.unlock?.();
    this.unlock = undefined;
  }

  // ── append path ──────────────────────────────────────────────────────────────────────────────

  /** Appends one record; resolves with its id once it is durable (after its fdatasync). */
  append(value: T): Promise<number> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    let payload: Uint8Array;
    try {
      payload = this.encode(value);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.waiting.length === 0 && this.makeRoom(FRAME_HEADER_BYTES + payload.length)) {
      const id = this.place(payload);
      this.tail.add(id, value, payload.length);
      const done = new Promise<number>((resolve, reject) => {
        this.acks.push((err) => (err ? reject(err) : resolve(id)));
      });
      this.scheduleFlush();
      return done;
    }
    return this.enqueue([payload], [value]).then((ids) => ids[0] as number);
  }

  /**
   * Appends records in order with consecutive ids; resolves with the ids once all are durable.
   * Either nothing is stored (a value cannot be encoded or is too large) or the records are
   * placed in order. If it rejects while waiting for space (`block`), a prefix of the batch may
   * already be stored: the source must treat the whole batch as not acknowledged.
   */
  appendBatch(values: readonly T[]): Promise<number[]> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const payloads: Uint8Array[] = [];
    try {
      for (const v of values) payloads.push(this.encode(v));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (payloads.length === 0) return Promise.resolve([]);
    return this.enqueue(payloads, values);
  }

  /**
   * Appends the records that can be stored, in order with consecutive ids, and reports at once
   * the ones that cannot (not encodable, nested deeper than max_record_depth, larger than
   * max_record_bytes): one bad record never fails its batch. `durable` resolves with the ids of
   * the stored ones (index for index with the values minus the rejected) once all are durable;
   * it rejects only for the log as a whole (closed, failed, full with `block`).
   */
  appendEach(values: readonly T[], onPlaced?: OnPlaced): { rejected: RejectedValue[]; durable: Promise<number[]> } {
    const refused = this.refusal();
    if (refused) return { rejected: [], durable: Promise.reject(refused) };
    const payloads: Uint8Array[] = [];
    const kept: T[] = [];
    const rejected: RejectedValue[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as T;
      try {
        payloads.push(this.encode(v));
        kept.push(v);
      } catch (err) {
        const e = err instanceof DurableLogError ? err : new DurableLogError('UNENCODABLE_RECORD', String(err));
        rejected.push({ index: i, error: e });
      }
    }
    this.counters.rejected_records += rejected.length;
    if (payloads.length === 0) return { rejected, durable: Promise.resolve([]) };
    return { rejected, durable: this.enqueue(payloads, kept, onPlaced) };
  }

  private refusal(): DurableLogError | undefined {
    if (this.failed) return this.failed;
    if (this.state === 'open') return undefined;
    if (this.state === 'new' || this.state === 'opening') {
      return new DurableLogError('LOG_NOT_OPEN', `durable log ${this.dir} is not open yet`);
    }
    return new DurableLogError('LOG_CLOSED', `durable log ${this.dir} is closed`);
  }

  private encode(value: T): Uint8Array {
    let payload: Uint8Array;
    try {
      // Plain values (every pipeline record): cbor-x's bytes without its allocations, the depth
      // measured on the way (cbor-writer.ts), written by the wire codec itself when it can;
      // anything else: the depth walk, then cbor-x.
      const max = this.config.max_record_depth;
      const codec = this.wire;
      let written = codec?.write ? writeCborWith((out) => codec.write?.(value, out), max) : undefined;
      let wire: unknown;
      if (written === undefined) {
        wire = codec ? codec.encode(value) : value;
        written = writeCbor(wire, max);
      }
      if (written === TOO_DEEP || (written === undefined && nestsDeeperThan(wire, max))) {
        throw new DurableLogError('RECORD_TOO_DEEP', `record nests arrays/maps deeper than buffer.max_record_depth (${max})`);
      }
      payload = written ?? this.encoder.encode(wire);
    } catch (err) {
      if (err instanceof DurableLogError) throw err;
      throw new DurableLogError('UNENCODABLE_RECORD', `record cannot be encoded as CBOR: ${(err as Error).message}`, { cause: err });
    }
    if (payload.length > this.config.max_record_bytes) {
      throw new DurableLogError(
        'RECORD_TOO_LARGE',
        `record of ${payload.length} bytes exceeds buffer.max_record_bytes (${this.config.max_record_bytes})`,
      );
    }
    return payload;
  }

  private enqueue(payloads: Uint8Array[], values: readonly T[], placed?: OnPlaced): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      const w: Waiter<T> = {
        payloads,
        values,
        ids: [],
        settle: (err) => (err ? reject(err) : resolve(w.ids)),
        timer: undefined,
        placed,
      };
      if (this.waiting.length === 0 && this.admit(w)) return;
      // The encoder's output views may be reused: keep private copies while waiting.
      for (let i = w.ids.length; i < payloads.length; i++) payloads[i] = Uint8Array.prototype.slice.call(payloads[i] as Uint8Array);
      this.waiting.push(w);
      // cursor_interval_ms: an append waits for space, which only written cursors free: now.
      this.persistCursorsNow();
      if (this.config.when_full === 'block' && this.config.block_timeout_ms > 0) {
        w.timer = setTimeout(() => this.timeOut(w), this.config.block_timeout_ms);
      }
    });
  }

  /** Places as much of w as fits; true when all of it is placed (its ack then waits for the flush). */
  private admit(w: Waiter<T>): boolean {
    const before = w.ids.length;
    let complete = true;
    while (w.ids.length < w.payloads.length) {
      const p = w.payloads[w.ids.length] as Uint8Array;
      if (!this.makeRoom(FRAME_HEADER_BYTES + p.length)) {
        complete = false;
        break;
      }
      const id = this.place(p);
      this.tail.add(id, w.values[w.ids.length] as T, p.length);
      w.ids.push(id);
    }
    if (complete) {
      // Placed: the frames are in the pending batch. Its ack waits for the fsync with the ids
      // only — not the encoder's payload views (and the 8 KB encoder buffers they pin) or the
      // values, which lived ~100 ms longer than needed (old space).
      w.payloads = [];
      w.values = [];
      this.acks.push(w.settle);
    }
    if (w.ids.length > before) {
      // Before scheduleFlush: nothing of these records can be written while the caller notes their ids.
      try {
        w.placed?.(before, w.ids[before] as number, w.ids.length - before);
      } catch {
        // The caller's bookkeeping (it reports its own errors); the log's state is unaffected.
      }
      if (complete) w.placed = undefined; // nothing more to tell: let the caller's note go before the fsync
      this.scheduleFlush();
    }
    return complete;
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0) {
      const w = this.waiting[0] as Waiter<T>;
      if (!this.admit(w)) return;
      this.waiting.shift();
      clearTimeout(w.timer);
    }
  }

  private timeOut(w: Waiter<T>): void {
    const i = this.waiting.indexOf(w);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.counters.block_timeouts++;
    if (this.stall) {
      w.settle(new LogFullError(`durable log ${this.dir}: ${this.stall.reason}; no space was freed within buffer.block_timeout_ms (${this.config.block_timeout_ms} ms) with when_full "block"`));
      this.admitWaiting();
      return;
    }
    const behind = [...this.cursors.values()]
      .map((c) => `${c.name} (committed ${c.durable}, lag ${this.lagOf(c)})`)
      .join(', ');
    w.settle(
      new LogFullError(
        `durable log ${this.dir} is full: ${this.totalBytes} of buffer.max_bytes ${this.config.max_bytes} bytes used and ` +
          `no segment was freed within buffer.block_timeout_ms (${this.config.block_timeout_ms} ms) with when_full "block"; ` +
          (behind ? `sinks: ${behind}` : 'no sink is registered, so nothing can be freed'),
      ),
    );
    this.admitWaiting();
  }

  /** Whether a frame of frameLen bytes fits under max_bytes, dropping old segments if allowed. */
  private makeRoom(frameLen: number): boolean {
    // Disk full: nothing new is placed until the kept batch is written (see stallOn).
    if (this.stall) return false;
    const active = this.segments[this.segments.length - 1] as Segment;
    const rotates = active.size > SEGMENT_HEADER_BYTES && active.size + frameLen > this.config.segment_bytes;
    const need = frameLen + (rotates ? SEGMENT_HEADER_BYTES : 0);
    if (this.totalBytes + need <= this.config.max_bytes) return true;
    // Only the active segment, yet over the cap: only possible after the cap was lowered below a
    // segment written earlier. Rotating is the only way out, so let this record through.
    if (this.segments.length === 1) return true;
    if (this.config.when_full === 'block') return false;
    while (this.totalBytes + need > this.config.max_bytes) {
      // Only whole, durable, sealed segments go; otherwise wait for the flush in flight.
      if (!this.oldestIsSealed()) return false;
      this.dropOldest();
    }
    return true;
  }

  /**
   * Whether the oldest segment may be deleted as far as the writer is concerned: sealed, all of
   * it durable, and the next segment already exists on disk. Without that last condition a crash
   * could leave no segment at all, and ids past the cursors could be handed out again.
   */
  private oldestIsSealed(): boolean {
    const s = this.segments[0];
    const next = this.segments[1];
    return s !== undefined && next !== undefined && next.created && s.created && s.durableSize === s.size;
  }

  /** Frames one record into the pending batch; returns its id. */
  private place(payload: Uint8Array): number {
    const frameLen = FRAME_HEADER_BYTES + payload.length;
    let seg = this.segments[this.segments.length - 1] as Segment;
    if (seg.size > SEGMENT_HEADER_BYTES && seg.size + frameLen > this.config.segment_bytes) {
      seg = this.addSegment(this.nextIdValue, false);
    }
    let g = this.groups[this.groups.length - 1];
    if (g === undefined || g.seg !== seg) {
      g = { seg, start: seg.size, buf: Buffer.allocUnsafe(Math.max(64 * 1024, frameLen)), len: 0 };
      this.groups.push(g);
    }
    if (g.len + frameLen > g.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(g.buf.length * 2, g.len + frameLen));
      g.buf.copy(grown, 0, 0, g.len);
      g.buf = grown;
    }
    const id = this.nextIdValue++;
    g.len += writeFrame(g.buf, g.len, id, payload);
    seg.size += frameLen;
    this.totalBytes += frameLen;
    if (this.pendingCount === 0) this.pendingSince = performance.now();
    this.pendingCount++;
    this.pendingBytes += frameLen;
    this.counters.appended_records++;
    return id;
  }

  private addSegment(baseId: number, created: boolean): Segment {
    const seg: Segment = {
      baseId,
      file: join(this.dir, segmentFileName(baseId)),
      size: SEGMENT_HEADER_BYTES,
      durableSize: created ? SEGMENT_HEADER_BYTES : 0,
      created,
      removed: false,
    };
    this.segments.push(seg);
    this.totalBytes += SEGMENT_HEADER_BYTES;
    return seg;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private scheduleFlush(): void {
    if (this.flushing || this.pendingCount === 0 || this.stall) return; // a running flush (or the disk-full retry) looks again when it ends
    if (this.pendingBytes >= this.config.flush_bytes) {
      this.startFlush();
      return;
    }
    if (this.timer === undefined) {
      const delay = Math.max(0, this.pendingSince + this.config.fsync_interval_ms - performance.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startFlush();
      }, delay);
    }
  }

  /**
   * Flushes the pending batch now rather than when its `fsync_interval_ms` is up (after the
   * running flush, if one runs): for a caller whose reader waits on this durability. Everything
   * else keeps the group commit; each call costs at most one extra fdatasync.
   */
  flushSoon(): void {
    if (this.pendingCount === 0 || this.failed || this.stall) return;
    if (this.flushing) this.urgent = true;
    else this.startFlush();
  }

  private startFlush(): void {
    this.clearTimer();
    if (this.flushing) return;
    this.urgent = false;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.pendingCount === 0 || this.failed || this.stall) return;
      const due = this.urgent || this.pendingSince + this.config.fsync_interval_ms <= performance.now();
      if (this.state === 'closing' || due) this.startFlush();
      else this.scheduleFlush();
    });
  }

  /**
   * Writes the pending batch, fdatasyncs it, then resolves its appends. Never rejects. A write
   * that fails for lack of space (ENOSPC/EDQUOT) keeps the batch and retries it (see stallOn);
   * any other failure fails the log.
   */
  private async flush(): Promise<void> {
    const groups = this.groups;
    const acks = this.acks;
    const lastId = this.nextIdValue - 1;
    const count = this.pendingCount;
    const bytes = this.pendingBytes;
    const since = this.pendingSince;
    this.groups = [];
    this.acks = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
    if (this.failed) {
      for (const settle of acks) settle(this.failed);
      return;
    }
    let created: boolean;
    try {
      created = await this.writeGroups(groups);
    } catch (err) {
      if (NO_SPACE.has(errno(err) ?? '') && this.state === 'open') {
        // Put the batch back in front of what arrived meanwhile: positional writes make the
        // retry rewrite exactly the same bytes at the same offsets.
        this.groups = [...groups, ...this.groups];
        this.acks = [...acks, ...this.acks];
        this.pendingCount += count;
        this.pendingBytes += bytes;
        if (count > 0) this.pendingSince = since;
        this.stallOn(err);
        return;
      }
      this.fail(err);
      for (const settle of acks) settle(this.failed);
      return;
    }
    if (this.stall) {
      this.stall = undefined;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    for (const g of groups) {
      g.seg.durableSize = g.start + g.len;
      g.seg.created = true;
    }
    if (lastId > this.lastDurableId) this.lastDurableId = lastId;
    for (const settle of acks) settle();
    this.dropReadFromTail();
    for (const wake of [...this.durableWaiters]) wake();
    // What is durable now is what the SYNCED mark records (advisory: recovery uses it to tell a
    // torn tail from lost acknowledged records; a failed mark write only makes it older).
    const active = this.fhSeg;
    if (active && groups.length > 0) await this.synced?.write(active.baseId, active.durableSize, this.lastDurableId).catch(() => undefined);
    // A segment sealed by this flush may already be behind every cursor.
    if (created) this.collectGarbage();
    if (this.waiting.length > 0) this.admitWaiting();
  }

  /**
   * Writes each group at its offset, opening (or creating) its segment file as needed; then
   * fdatasyncs the last file and, if a file was created, the folder. Safe to repeat after a
   * failure: a segment is created with O_EXCL the first time and reopened after that.
   */
  private async writeGroups(groups: PendingGroup[]): Promise<boolean> {
    for (const g of groups) {
      if (g.seg !== this.fhSeg) {
        if (this.fh) {
          await this.sync(this.fh);
          await this.fh.close();
          this.fh = undefined;
          this.fhSeg = undefined;
        }
        this.fh = await this.openSegment(g.seg);
        this.fhSeg = g.seg;
      }
      const fh = this.fh as FileHandle;
      if (!g.seg.created) await writeAll(fh, encodeSegmentHeader(g.seg.baseId), SEGMENT_HEADER_BYTES, 0);
      await writeAll(fh, g.buf, g.len, g.start);
    }
    if (this.fh) await this.sync(this.fh);
    if (!this.dirDirty) return false;
    await this.syncDir();
    this.dirDirty = false;
    return true;
  }

  private async openSegment(seg: Segment): Promise<FileHandle> {
    if (seg.created) return open(seg.file, 'r+');
    try {
      const fh = await open(seg.file, 'wx');
      this.dirDirty = true;
      return fh;
    } catch (err) {
      // Created by an earlier attempt of this flush that then ran out of space: ours (the lock
      // guarantees one writer), and its header is written again.
      if (errno(err) !== 'EEXIST') throw err;
      return open(seg.file, 'r+');
    }
  }

  /**
   * Disk full: keep the batch, report the stall (stats, health), apply `when_full` and retry
   * with a doubling delay (disk_full_retry_ms … disk_full_retry_max_ms). With `drop_oldest` the
   * oldest sealed segment is deleted to make room (counted per sink like a size-cap drop), and
   * the retry comes at once; with `block` new appends wait for the space (and reject with
   * LOG_FULL after block_timeout_ms), and the retry waits for space to return.
   */
  private stallOn(err: unknown): void {
    const reason = `disk full writing ${this.dir}: ${(err as Error).message}`;
    this.stall ??= { reason, since: Date.now(), retries: 0 };
    this.stall.reason = reason;
    this.stall.retries++;
    this.counters.disk_full_retries++;
    let delay = Math.min(this.config.disk_full_retry_max_ms, this.config.disk_full_retry_ms * 2 ** Math.min(20, this.stall.retries - 1));
    if (this.config.when_full === 'drop_oldest' && this.oldestIsSealed()) {
      this.dropOldest();
      delay = this.config.disk_full_retry_ms;
    }
    // Appends that arrive meanwhile wait (makeRoom refuses while stalled), so the memory held
    // is bounded by what the sources keep unacknowledged.
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const retry = async (): Promise<void> => {
        await this.unlinking;
        if (this.state === 'open' && !this.failed) this.startFlush();
      };
      void retry();
    }, delay);
  }

  /** Why the log cannot write now (disk full, retrying), or undefined. */
  writeStall(): Readonly<WriteStall> | undefined {
    return this.stall;
  }

  /** What recovery found that the operator should hear about (torn tail, lost records, reset cursors). */
  recoveryNotes(): readonly RecoveryNote[] {
    return this.notes;
  }

  private async sync(fh: FileHandle): Promise<void> {
    const t0 = performance.now();
    await fh.datasync();
    this.recordSync(performance.now() - t0);
  }

  private async syncDir(): Promise<void> {
    const t0 = performance.now();
    await fsyncDir(this.dir);
    this.recordSync(performance.now() - t0);
  }

  private recordSync(ms: number): void {
    const c = this.counters;
    c.fsyncs++;
    c.fsync_seconds_total += ms / 1000;
    c.fsync_last_ms = ms;
    if (ms > c.fsync_max_ms) c.fsync_max_ms = ms;
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    const msg = err instanceof Error ? err.message : String(err);
    this.failed = new DurableLogError(
      'LOG_FAILED',
      `durable log ${this.dir}: writing failed (${msg}); appends are refused until the log is reopened`,
      { cause: err },
    );
    this.clearTimer();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stall = undefined;
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.settle(this.failed);
    }
    // Records placed after the failing batch will never be written either.
    for (const settle of this.acks.splice(0)) settle(this.failed);
    this.groups = [];
    this.pendingBytes = 0;
    this.pendingCount = 0;
  }

  // ── sinks and cursors ────────────────────────────────────────────────────────────────────────

  /**
   * A reader of the records after `sink`'s committed position, in id order. Registers the sink
   * if it is new (its cursor starts at 0 and holds every retained segment from now on).
   */
  reader(sink: string, options: { batchSize?: number } = {}): LogReader<T> {
    const refused = this.refusal();
    if (refused && refused.code !== 'LOG_FAILED') throw refused;
    this.cursorOf(sink);
    const r = new LogReader<T>(this, sink, options.batchSize ?? 1000);
    this.readers.add(r);
    return r;
  }

  /**
   * Persists `sink`'s cursor at `id` (the last record it has finished with) atomically and
   * resolves when that is durable; then deletes the segments every sink has passed. A lower id
   * than the current cursor changes nothing (cursors never move backwards). With
   * `cursor_interval_ms` > 0 it resolves at once and the file follows (`persistLater`).
   */
  async commit(sink: string, id: number): Promise<void> {
    if (this.state !== 'open') throw this.refusal() ?? new DurableLogError('LOG_CLOSED', `durable log ${this.dir} is closed`);
    if (!Number.isSafeInteger(id) || id < 0 || id > this.lastDurableId) {
      throw new DurableLogError(
        'COMMIT_OUT_OF_RANGE',
        `cannot commit ${String(id)} for sink "${sink}": ids go from 1 to the last durable id ${this.lastDurableId}`,
      );
    }
    const c = this.cursorOf(sink);
    if (id > c.requested) c.requested = id;
    if (this.config.cursor_interval_ms > 0) {
      const failed = c.failed;
      c.failed = undefined;
      this.persistLater(c);
      if (failed) throw failed;
      return;
    }
    await this.persistCursor(c, id);
  }

  /** The pending interval writes now (an append is waiting for the space they free). */
  private persistCursorsNow(): void {
    if (this.config.cursor_interval_ms === 0) return;
    for (const c of this.cursors.values()) {
      if (c.durable >= c.requested) continue;
      clearTimeout(c.timer);
      c.timer = undefined;
      this.persistLater(c);
    }
  }

  /**
   * `cursor_interval_ms`: writes the cursor file once the interval since the last write has
   * passed (at once after a quiet spell), with whatever the sink has committed by then.
   */
  private persistLater(c: Cursor): void {
    if (c.timer !== undefined || c.durable >= c.requested || this.state !== 'open') return;
    // An append waiting for space (the log full) waits for nothing else: write at once.
    const wait = this.waiting.length > 0 ? 0 : Math.max(0, (c.lastWriteAt ?? -Infinity) + this.config.cursor_interval_ms - performance.now());
    c.timer = setTimeout(() => {
      c.timer = undefined;
      c.lastWriteAt = performance.now();
      this.persistCursor(c, c.requested).catch((err: unknown) => {
        c.failed = err instanceof Error ? err : new Error(String(err));
      });
    }, wait);
  }

  /** Forgets a sink: deletes its cursor so it no longer holds segments. */
  async removeSink(sink: string): Promise<void> {
    if (this.state !== 'open') throw this.refusal() ?? new DurableLogError('LOG_CLOSED', `durable log ${this.dir} is closed`);
    checkSinkName(sink);
    const c = this.cursors.get(sink);
    if (!c) return;
    this.cursors.delete(sink);
    clearTimeout(c.timer);
    c.timer = undefined;
    await c.writing?.catch(() => undefined);
    await unlink(join(this.dir, cursorFileName(sink))).catch((err: unknown) => {
      if (errno(err) !== 'ENOENT') throw err;
    });
    await fsyncDir(this.dir);
    this.collectGarbage();
  }

  /** Registered sink names. */
  get sinks(): string[] {
    return [...this.cursors.keys()];
  }

  /** The sink's committed position as readers see it (requested, possibly not yet durable). */
  committedOf(sink: string): number {
    return this.cursors.get(sink)?.requested ?? 0;
  }

  private cursorOf(sink: string): Cursor {
    let c = this.cursors.get(sink);
    if (c) return c;
    checkSinkName(sink);
    // durable -1: no cursor file yet. Until it is written this sink holds every segment.
    c = { name: sink, requested: 0, durable: -1, dropped: 0, writing: undefined };
    this.cursors.set(sink, c);
    // Persist the new cursor so that after a restart it still holds the segments it has not read.
    this.persistCursor(c, 0).catch(() => undefined);
    return c;
  }

  private trackCursorWrite<P>(p: Promise<P>): Promise<P> {
    this.cursorWrites.add(p);
    const forget = () => this.cursorWrites.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async writeCursor(c: Cursor, value: number): Promise<void> {
    const body = `${JSON.stringify({ format: 1, sink: c.name, committed: value })}\n`;
    await writeFileAtomic(this.dir, cursorFileName(c.name), body);
    this.counters.cursor_writes++;
  }

  private async persistCursor(c: Cursor, id: number): Promise<void> {
    while (c.durable < id) {
      if (c.writing === undefined) {
        const value = c.requested;
        const write = (async () => {
          try {
            await this.writeCursor(c, value);
            if (value > c.durable) c.durable = value;
          } finally {
            c.writing = undefined;
          }
          this.collectGarbage();
        })();
        c.writing = write;
        this.trackCursorWrite(write).catch(() => undefined);
      }
      await c.writing;
    }
  }

  private lagOf(c: Cursor): number {
    const first = this.segments[0]?.baseId ?? 1;
    return Math.max(0, this.lastDurableId - Math.max(c.durable, first - 1));
  }

  /** Deletes the oldest segments every persisted cursor has passed (I5). */
  private collectGarbage(): void {
    if (this.cursors.size === 0 || this.state === 'closed') return;
    let min = Infinity;
    for (const c of this.cursors.values()) min = Math.min(min, c.durable);
    let freed = false;
    while (this.oldestIsSealed()) {
      const next = this.segments[1] as Segment;
      if (next.baseId - 1 > min) break;
      this.removeOldest();
      this.counters.segments_deleted++;
      freed = true;
    }
    if (freed && this.waiting.length > 0) this.admitWaiting();
  }

  /** drop_oldest: deletes the oldest sealed segment whatever the cursors say, and counts. */
  private dropOldest(): void {
    const s = this.segments[0] as Segment;
    const lastId = (this.segments[1] as Segment).baseId - 1;
    let minEff = Infinity;
    for (const c of this.cursors.values()) {
      const eff = Math.max(c.requested, s.baseId - 1);
      if (eff < lastId) c.dropped += lastId - eff;
      minEff = Math.min(minEff, eff);
    }
    if (minEff === Infinity) minEff = s.baseId - 1;
    if (minEff < lastId) this.counters.records_dropped += lastId - minEff;
    this.counters.segments_dropped++;
    this.removeOldest();
  }

  private removeOldest(): void {
    const s = this.segments.shift() as Segment;
    s.removed = true;
    this.totalBytes -= s.size;
    this.unlinkQueue.push(s.file);
    this.unlinking ??= this.runUnlinks();
  }

  private async runUnlinks(): Promise<void> {
    while (this.unlinkQueue.length > 0) {
      const files = this.unlinkQueue.splice(0);
      for (const f of files) {
        try {
          await unlink(f);
        } catch (err) {
          if (errno(err) !== 'ENOENT') this.counters.delete_errors++;
        }
      }
      try {
        await this.syncDir();
      } catch {
        this.counters.delete_errors++;
      }
    }
    this.unlinking = undefined;
  }

  // ── ReaderHost (used by LogReader) ───────────────────────────────────────────────────────────

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Records at or below this id are not for `sink` any more: committed, or deleted. */
  floorOf(sink: string): number {
    const first = this.segments[0]?.baseId ?? 1;
    return Math.max(this.cursors.get(sink)?.requested ?? 0, first - 1);
  }

  noteCorruption(key: string, missing: number): void {
    if (this.corruptSeen.has(key)) return;
    this.corruptSeen.add(key);
    this.counters.corrupt_records += Math.max(0, missing);
  }

  decodePayload(payload: Buffer): unknown {
    const raw = this.decoder.decode(payload) as unknown;
    return this.wire ? this.wire.decode(raw) : raw;
  }

  /**
   * Drops from the tail cache what every registered sink is done with (tail-cache.ts): for a sink
   * with an open reader what that reader returned or the sink committed, for one without (a sink
   * not started yet) only what it committed — its first read may still come from memory.
   */
  private dropReadFromTail(): void {
    if (this.tail.size === 0) return;
    const read = new Map<string, number>();
    for (const r of this.readers) if (!r.closed) read.set(r.sink, Math.min(read.get(r.sink) ?? Infinity, r.lastReadId));
    let min = Infinity;
    for (const sink of this.cursors.keys()) min = Math.min(min, Math.max(read.get(sink) ?? 0, this.floorOf(sink)));
    if (min !== Infinity) this.tail.dropThrough(min);
  }

  /** Durable records from `from` on, straight from the tail cache; undefined if not cached. */
  cachedFrom(from: number, max: number): LogRecord<T>[] | undefined {
    return this.tail.take(from, this.lastDurableId, max);
  }

  onDurable(wake: () => void): () => void {
    this.durableWaiters.add(wake);
    return () => this.durableWaiters.delete(wake);
  }

  readerClosed(r: LogReader<T>): void {
    this.readers.delete(r);
  }

  // ── stats ────────────────────────────────────────────────────────────────────────────────────

  stats(): LogStats {
    const first = this.segments[0]?.baseId ?? this.nextIdValue;
    const sinks: Record<string, SinkStats> = {};
    for (const c of this.cursors.values()) sinks[c.name] = { committed: Math.max(0, c.durable), lag: this.lagOf(c), dropped_records: c.dropped };
    return {
      records: Math.max(0, this.lastDurableId - first + 1),
      pending_records: this.nextIdValue - 1 - this.lastDurableId,
      bytes: this.totalBytes,
      segments: this.segments.length,
      first_id: first,
      last_id: this.lastDurableId,
      next_id: this.nextIdValue,
      sinks,
      blocked_appends: this.waiting.reduce((n, w) => n + w.payloads.length - w.ids.length, 0),
      disk_full_since: this.stall?.since ?? 0,
      ...this.counters,
    };
  }

  // ── recovery ─────────────────────────────────────────────────────────────────────────────────

  private async recover(): Promise<void> {
    const made = await mkdir(this.dir, { recursive: true });
    if (made !== undefined) {
      // New folders must be durable in their parents, or a power cut could lose them whole.
      for (let d = resolve(this.dir); ; d = dirname(d)) {
        await fsyncDir(dirname(d));
        if (d === resolve(made) || dirname(d) === d) break;
      }
    }
    this.unlock = await acquireLock(this.dir);
    const mark = await readSynced(this.dir);
    // Only regular files count: a folder or socket that happens to match a name is left alone.
    const names = (await readdir(this.dir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();

    let maxCursor = 0;
    for (const name of names) {
      if (name.endsWith('.cursor.tmp')) {
        await unlink(join(this.dir, name)).catch(() => undefined);
        continue;
      }
      const m = CURSOR_FILE.exec(name);
      if (!m) continue;
      const sink = m[1] as string;
      const committed = await this.readCursorFile(name, sink);
      if (committed === undefined) continue;
      this.cursors.set(sink, { name: sink, requested: committed, durable: committed, dropped: 0, writing: undefined });
      maxCursor = Math.max(maxCursor, committed);
    }

    const found: { baseId: number; name: string }[] = [];
    for (const name of names) {
      const baseId = parseSegmentFileName(name);
      if (baseId !== undefined) found.push({ baseId, name });
    }
    found.sort((a, b) => a.baseId - b.baseId);

    let lastGood = 0;
    if (found.length === 0) {
      // No segment at all, yet the SYNCED mark says records were acknowledged: every segment
      // file is gone (the newest is never deleted by the log). What no sink had delivered is
      // lost; the ids are not handed out again.
      let base = Math.max(1, maxCursor + 1);
      if (mark && mark.lastId > 0) {
        let minCursor = Infinity;
        for (const c of this.cursors.values()) minCursor = Math.min(minCursor, c.durable);
        const records = Math.max(0, mark.lastId - (minCursor === Infinity ? 0 : minCursor));
        if (records > 0) {
          this.counters.lost_acknowledged_records += records;
          this.counters.lost_acknowledged_bytes += mark.size;
          this.notes.push({ kind: 'lost_acknowledged', segment: join(this.dir, segmentFileName(mark.baseId)), records, bytes: mark.size, synced_last_id: mark.lastId, found_last_id: mark.lastId - records });
        }
        base = Math.max(base, mark.lastId + 1);
      }
      const seg = this.addSegment(base, false);
      this.fh = await open(seg.file, 'wx');
      await writeAll(this.fh, encodeSegmentHeader(seg.baseId), SEGMENT_HEADER_BYTES, 0);
      await this.sync(this.fh);
      await this.syncDir();
      seg.created = true;
      seg.durableSize = SEGMENT_HEADER_BYTES;
      this.fhSeg = seg;
    } else {
      for (let i = 0; i < found.length; i++) {
        const f = found[i] as { baseId: number; name: string };
        const isLast = i === found.length - 1;
        const fh = await open(join(this.dir, f.name), isLast ? 'r+' : 'r');
        let keep = false;
        try {
          const size = (await fh.stat()).size;
          const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
          const { bytesRead } = await fh.read(head, 0, SEGMENT_HEADER_BYTES, 0);
          const header = decodeSegmentHeader(head.subarray(0, bytesRead));
          if (!header.ok && header.reason === 'version') {
            throw new DurableLogError(
              'UNSUPPORTED_FORMAT',
              `segment ${join(this.dir, f.name)} has format version ${header.version}; this build reads version 1 (was it written by a newer lorawan-edge?)`,
            );
          }
          const headerOk = header.ok && header.baseId === f.baseId;
          const seg: Segment = {
            baseId: f.baseId,
            file: join(this.dir, f.name),
            size,
            durableSize: size,
            created: true,
            removed: false,
          };
          this.segments.push(seg);
          if (isLast) {
            lastGood = await this.recoverLast(fh, seg, headerOk, mark);
            this.fh = fh;
            this.fhSeg = seg;
            keep = true;
          }
          this.totalBytes += seg.size;
        } finally {
          if (!keep) await fh.close();
        }
      }
    }

    const active = this.segments[this.segments.length - 1] as Segment;
    let acked = 0;
    if (mark && found.length > 0 && mark.baseId >= active.baseId) {
      // Records the writer had made durable (and so acknowledged) but that are not there now.
      const foundLast = Math.max(lastGood, active.baseId - 1);
      if (mark.lastId > foundLast) {
        const records = mark.lastId - foundLast;
        const bytes = mark.baseId === active.baseId ? Math.max(0, mark.size - active.size) : mark.size;
        this.counters.lost_acknowledged_records += records;
        this.counters.lost_acknowledged_bytes += bytes;
        this.notes.push({ kind: 'lost_acknowledged', segment: active.file, records, bytes, synced_last_id: mark.lastId, found_last_id: foundLast });
      }
      // Their ids are not handed out again: upstream, they were acknowledged.
      acked = mark.lastId;
    }
    this.nextIdValue = Math.max(lastGood + 1, active.baseId, maxCursor + 1, acked + 1);
    this.lastDurableId = this.nextIdValue - 1;

    for (const sink of this.config.sinks) {
      if (!this.cursors.has(sink)) {
        const c: Cursor = { name: sink, requested: 0, durable: -1, dropped: 0, writing: undefined };
        this.cursors.set(sink, c);
        await this.persistCursor(c, 0);
      }
    }
    this.synced = await SyncedMark.open(this.dir);
    // Advisory (see synced-mark.ts): a full disk must not stop the open.
    if (active.created) await this.synced.write(active.baseId, active.durableSize, this.lastDurableId).catch(() => undefined);
    this.state = 'open';
    this.collectGarbage();
  }

  private async readCursorFile(name: string, sink: string): Promise<number | undefined> {
    try {
      checkSinkName(sink);
    } catch {
      return undefined; // not one of ours
    }
    let reason: string;
    try {
      const text = await readFile(join(this.dir, name), 'utf8');
      if (text.length > 4096) throw new Error(`${text.length} bytes, a cursor is < 100`);
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed === 'object' && parsed !== null) {
        const { format, sink: s, committed } = parsed as Record<string, unknown>;
        if (format === 1 && s === sink && typeof committed === 'number' && Number.isSafeInteger(committed) && committed >= 0) {
          return committed;
        }
      }
      reason = 'not a cursor of this sink in format 1';
    } catch (err) {
      reason = (err as Error).message;
    }
    // Unreadable: the safest position is the oldest retained record (0): a segment is deleted
    // only when every cursor, this one included, had passed it, so everything this sink may not
    // have delivered is still after it. That re-delivers (InfluxDB overwrites: points carry their
    // own time) and never loses. The damaged file is kept aside for inspection.
    this.counters.cursor_resets++;
    const file = join(this.dir, name);
    await rename(file, `${file}.corrupt`).catch(() => undefined);
    this.notes.push({ kind: 'cursor_reset', sink, file, reason: reason.slice(0, 200), restart_after: 0 });
    return 0;
  }

  /** Scans the last segment, cuts its torn tail, repairs its header; returns the last valid id. */
  private async recoverLast(fh: FileHandle, seg: Segment, headerOk: boolean, mark: SyncedState | undefined): Promise<number> {
    let size = seg.size;
    let changed = false;
    if (!headerOk) {
      if (size < SEGMENT_HEADER_BYTES) {
        this.counters.truncated_bytes += size;
        await fh.truncate(0);
        size = SEGMENT_HEADER_BYTES;
      }
      await writeAll(fh, encodeSegmentHeader(seg.baseId), SEGMENT_HEADER_BYTES, 0);
      this.counters.header_repairs++;
      changed = true;
    }
    const sc = new FrameScanner(fh, SEGMENT_HEADER_BYTES, size, seg.baseId - 1, this.config.read_chunk_bytes);
    let lastGood = 0;
    let gapAt = -1;
    let idBeforeGap = 0;
    for (;;) {
      const r = sc.step();
      if (r === Scan.Frame) {
        if (gapAt >= 0) {
          this.noteCorruption(`${seg.baseId}:${gapAt}`, sc.frameId - idBeforeGap - 1);
          gapAt = -1;
        }
        lastGood = sc.frameId;
      } else if (r === Scan.Gap) {
        gapAt = sc.gapStart;
        idBeforeGap = sc.lastId;
      } else if (r === Scan.NeedIo) {
        await sc.fill();
      } else {
        if (r === Scan.Tail) {
          // Bytes past the SYNCED mark were never acknowledged (torn tail); bytes below it were
          // (counted as lost by recover()).
          const ackedEnd = mark?.baseId === seg.baseId ? Math.min(size, Math.max(sc.tailStart, mark.size)) : sc.tailStart;
          const torn = size - ackedEnd;
          this.counters.truncated_bytes += torn;
          if (torn > 0) this.notes.push({ kind: 'torn_tail', segment: seg.file, bytes: torn });
          await fh.truncate(sc.tailStart);
          size = sc.tailStart;
          changed = true;
        }
        break;
      }
    }
    if (changed) await this.sync(fh);
    seg.size = size;
    seg.durableSize = size;
    return lastGood;
  }
}

/** Opens (and recovers) a durable log. */
export function openDurableLog<T = unknown>(config: DurableLogConfig): Promise<DurableLog<T>> {
  return DurableLog.open<T>(config);
}
