/**
 * A sink's reader over the durable log: durable records with ids above the sink's cursor, in id
 * order, read from the segment files in large chunks and verified frame by frame. Damaged frames
 * are skipped and reported to the log, which counts each damaged region once.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { errno } from './files.ts';
import { FrameScanner, SEGMENT_HEADER_BYTES, Scan } from './format.ts';
import type { LogRecord } from './log.ts';

/** One segment file as the log tracks it. */
export interface Segment {
  baseId: number;
  file: string;
  /** Logical size: bytes written or waiting to be written, header included. */
  size: number;
  /** Bytes known to be on disk and synced; readers never look past them. */
  durableSize: number;
  /** The file exists and its header is durable. */
  created: boolean;
  /** Deleted (consumed or dropped); readers move on. */
  removed: boolean;
}

/** What a reader needs from the log. */
export interface ReaderHost<T> {
  readonly segments: readonly Segment[];
  readonly closed: boolean;
  readonly config: { readonly read_chunk_bytes: number };
  /** Every id up to it is durable; none after it is. */
  readonly lastDurableId: number;
  floorOf(sink: string): number;
  noteCorruption(key: string, missing: number): void;
  decodePayload(payload: Buffer): unknown;
  /** Durable records from id `from` on out of memory (the tail cache), or undefined. */
  cachedFrom(from: number, max: number): LogRecord<T>[] | undefined;
  onDurable(wake: () => void): () => void;
  readerClosed(r: LogReader<T>): void;
}

export class LogReader<T> implements AsyncIterable<LogRecord<T>> {
  /** Id of the last record this reader returned (or the cursor it started from). */
  private position: number;
  private seg: Segment | undefined;
  private fh: FileHandle | undefined;
  private scanner: FrameScanner | undefined;
  /** The durable size of `seg` the scanner was last given as its limit. */
  private limitSeen = 0;
  private gapAt = -1;
  private idBeforeGap = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly host: ReaderHost<T>,
    readonly sink: string,
    private readonly batchSize: number,
  ) {
    this.position = host.floorOf(sink);
  }

  /** Id of the last record returned by this reader. */
  get lastReadId(): number {
    return this.position;
  }

  get closed(): boolean {
    return this.isClosed || this.host.closed;
  }

  /**
   * Up to `max` records after this reader's position and the sink's cursor. With `waitMs` > 0
   * (Infinity allowed) and nothing to read, waits that long for new durable records. Returns []
   * when nothing came or the reader or log is closed.
   */
  read(max = this.batchSize, waitMs = 0): Promise<LogRecord<T>[]> {
    const p = this.chain.then(() => this.readNow(max, waitMs));
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Moves this reader back to the sink's committed cursor (to deliver again after a failure). */
  rewind(): Promise<void> {
    const p = this.chain.then(async () => {
      await this.release();
      this.position = this.host.floorOf(this.sink);
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Stops this reader (the sink's cursor stays). Pending reads return []. */
  close(): Promise<void> {
    this.isClosed = true;
    this.wake?.();
    const p = this.chain.then(() => this.release());
    this.chain = p.catch(() => undefined);
    this.host.readerClosed(this);
    return p;
  }

  /** Yields records one by one, waiting for new ones; ends when the reader or the log closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<LogRecord<T>> {
    for (;;) {
      const batch = await this.read(this.batchSize, Infinity);
      if (batch.length === 0 && this.closed) return;
      yield* batch;
    }
  }

  private async readNow(max: number, waitMs: number): Promise<LogRecord<T>[]> {
    const out: LogRecord<T>[] = [];
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.closed) return out;
      // Listen before reading, so a flush that ends during the read is not missed.
      let woken = false;
      const unsubscribe = this.host.onDurable(() => {
        woken = true;
        this.wake?.();
      });
      try {
        await this.collect(out, max);
        if (out.length > 0 || waitMs <= 0) return out;
        if (!woken) {
          const left = deadline - Date.now();
          if (left <= 0) return out;
          await this.sleep(left);
          if (!woken && Date.now() >= deadline) return out;
        }
      } finally {
        unsubscribe();
      }
    }
  }

  /** Waits ms (Infinity: no timer) or until woken by new durable records or close. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      this.wake = done;
    });
  }

  private async release(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.seg = undefined;
    this.scanner = undefined;
    this.gapAt = -1;
    await fh?.close().catch(() => undefined);
  }

  /** Opens the segment that holds the first id this reader still wants; false if none exists yet. */
  private async seek(): Promise<boolean> {
    await this.release();
    for (;;) {
      const want = Math.max(this.position, this.host.floorOf(this.sink)) + 1;
      let chosen: Segment | undefined;
      for (const s of this.host.segments) {
        if (!s.created) break;
        if (chosen === undefined || s.baseId <= want) chosen = s;
        else break;
      }
      if (chosen === undefined) return false;
      if (await this.enter(chosen)) return true;
    }
  }

  /** Opens seg for reading from its first frame; false if it vanished (deleted meanwhile). */
  private async enter(seg: Segment): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(seg.file, 'r');
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      if (seg.removed) return false;
      // Gone without the log deleting it: everything it held is lost; count it and go on.
      const next = this.nextAfter(seg);
      if (next === undefined) throw err;
      this.host.noteCorruption(`${seg.baseId}:missing`, next.baseId - seg.baseId);
      this.position = Math.max(this.position, next.baseId - 1);
      return false;
    }
    this.fh = fh;
    this.seg = seg;
    this.scanner = new FrameScanner(fh, SEGMENT_HEADER_BYTES, seg.durableSize, seg.baseId - 1, this.host.config.read_chunk_bytes);
    this.limitSeen = seg.durableSize;
    this.gapAt = -1;
    return true;
  }

  private nextAfter(seg: Segment): Segment | undefined {
    const segs = this.host.segments;
    const i = segs.indexOf(seg);
    if (i < 0) return undefined;
    const next = segs[i + 1];
    return next !== undefined && next.created ? next : undefined;
  }

  private async collect(out: LogRecord<T>[], max: number): Promise<void> {
    while (out.length < max) {
      if (this.closed) return;
      // Nothing durable after this reader: done. Without this, a reader that had just taken the
      // newest records from the cache opened the active segment and scanned it from its first
      // frame (up to segment_bytes) only to find nothing after them — on every read of a sink
      // that keeps up (bench/RESULTS.md, Web: most of the SSE latency).
      if (Math.max(this.position, this.host.floorOf(this.sink)) >= this.host.lastDurableId) return;
      // Caught up with the writer: take the records from memory instead of the files. The file
      // position is dropped; should this reader fall behind the cache, seek() finds it again.
      const cached = this.host.cachedFrom(Math.max(this.position, this.host.floorOf(this.sink)) + 1, max - out.length);
      if (cached !== undefined && cached.length > 0) {
        for (const r of cached) out.push(r);
        this.position = (cached[cached.length - 1] as LogRecord<T>).id;
        if (this.seg !== undefined) await this.release();
        continue;
      }
      if (this.seg === undefined || this.seg.removed) {
        if (!(await this.seek())) return;
      }
      const seg = this.seg as Segment;
      const sc = this.scanner as FrameScanner;
      if (seg.durableSize > this.limitSeen) {
        // More of this segment became durable (a file cut short behind our back keeps its end).
        sc.limit = seg.durableSize;
        this.limitSeen = seg.durableSize;
      }
      const floor = Math.max(this.position, this.host.floorOf(this.sink));
      const r = sc.step();
      if (r === Scan.Frame) {
        if (this.gapAt >= 0) {
          this.host.noteCorruption(`${seg.baseId}:${this.gapAt}`, sc.frameId - this.idBeforeGap - 1);
          this.gapAt = -1;
        }
        if (sc.frameId <= floor) continue;
        let value: unknown;
        try {
          value = this.host.decodePayload(sc.buf.subarray(sc.payloadStart, sc.payloadEnd));
        } catch {
          this.host.noteCorruption(`${seg.baseId}:${sc.frameStart}`, 1);
          continue;
        }
        out.push({ id: sc.frameId, value: value as T });
        this.position = sc.frameId;
      } else if (r === Scan.Gap) {
        this.gapAt = sc.gapStart;
        this.idBeforeGap = sc.lastId;
      } else if (r === Scan.NeedIo) {
        await sc.fill();
      } else {
        // End or Tail at the durable limit. A sealed segment is finished: account for ids it
        // should have held but did not, then go to the next one. The active one waits for more.
        const next = this.nextAfter(seg);
        if (next === undefined || seg.durableSize !== seg.size || this.limitSeen < seg.durableSize) return;
        const lastId = next.baseId - 1;
        if (sc.lastId < lastId) {
          const at = r === Scan.Tail ? sc.tailStart : sc.pos;
          this.host.noteCorruption(`${seg.baseId}:${at}`, lastId - sc.lastId);
        }
        await this.release();
        if (!(await this.enter(next))) continue;
      }
    }
  }
}
