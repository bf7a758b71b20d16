/**
 * The inbox journal of the `semtech_udp` source: a PUSH_ACK means the datagram is on disk.
 *
 * A packet forwarder that keeps its PUSH_DATA until the PUSH_ACK and sends it again (see
 * ../README.md, "Packet forwarders that resend") loses nothing through a `kill -9` of the
 * gateway only if an acknowledged datagram can never be lost: before this journal the
 * datagrams of the last dedup window and uncommitted batch lived in memory only.
 *
 * ## Invariants
 *
 * N1. A PUSH_DATA is acknowledged only after the fdatasync that covers its journal entry
 *     (`append()` resolves then; the source sends the PUSH_ACK on that).
 * N2. An entry reaches the network server only once durable, in id order (= arrival order).
 * N3. The cursor is the highest id E such that every entry ≤ E is *done*: each of its rxpks was
 *     rejected, or the session writes and log records it caused are durable. `done()` is
 *     called by the network server after that; the cursor never moves back and is persisted
 *     at most every `cursor_interval_ms`, so it may lag (a lag only means more work at the
 *     next start, never loss: see N4).
 * N4. At open, every entry after the cursor is handed over again, flagged as replayed; the
 *     network server recognises what it had already processed (a FCnt committed with that MIC,
 *     a DevNonce committed) and skips it, counted as `already_processed`, so nothing is stored
 *     twice; what it had not finished is processed as if it had just arrived.
 * N5. A datagram the forwarder sends again (same gateway, token and bytes — CRC-32 and length)
 *     while its first copy is remembered (the last `remember` datagrams, entries after the
 *     cursor included after a restart) is not journaled again: it is acknowledged once the
 *     first copy is durable, and counted.
 *
 * ## On-disk format
 *
 * The project's durable log (`../buffer/log.ts`: checksummed segment files, atomic cursor
 * files) in `<state_dir>/inbox/`, with one sink, `ns`. Each record is the CBOR array
 * `[1, gatewayEuiHex, receivedAtUnixMs, datagramBytes]`: the whole datagram as it came, so a
 * replay decodes exactly what the first pass decoded. Segments are 4 MiB and are deleted once
 * the cursor has passed them, so the folder holds little more than the frames in flight.
 *
 * ## fsync policy
 *
 * Group commit: the durable log's fdatasync every `fsync_interval_ms` (default 5 ms) for all
 * datagrams that arrived meanwhile — at once (`flushSoon`) for a datagram holding a confirmed
 * uplink or a join-request, whose answer is waited for. The stock forwarder waits `push_timeout_ms` (100 ms) for a
 * PUSH_ACK; the receipt → durable time is the histogram `lorawan_edge_ns_inbox_commit_seconds`
 * (measured in bench/RESULTS.md). With the journal full (`max_bytes`, 64 MiB: the network server
 * stopped committing) appends wait (`when_full: block`) and no PUSH_ACK leaves; nothing is
 * dropped.
 *
 * ## Recovery
 *
 * The durable log's (torn tail cut, corrupt records skipped and counted), then the entries after
 * the cursor are read back (at most `max_replay`, the newest kept; more is counted as
 * `replay_dropped`) and replayed through the network server before the socket is opened.
 */
import { performance } from 'node:perf_hooks';
import { DurableLog } from '../buffer/index.ts';
import type { WireCodec } from '../buffer/log.ts';
import { RecentDatagrams } from './inbox-recent.ts';

export interface InboxEntry {
  /** gateway EUI, lowercase hex */
  gateway: string;
  /** wall-clock ms when the datagram arrived */
  receivedAt: number;
  datagram: Buffer;
}

const FORMAT = 1;
const SINK = 'ns';

export const INBOX_WIRE: WireCodec<InboxEntry> = {
  encode: (e) => [FORMAT, e.gateway, e.receivedAt, e.datagram],
  decode: (w) => {
    if (!Array.isArray(w) || w[0] !== FORMAT || typeof w[1] !== 'string' || typeof w[2] !== 'number' || !(w[3] instanceof Uint8Array)) throw new Error('not an inbox entry');
    const d = w[3];
    return { gateway: w[1], receivedAt: w[2], datagram: Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength) };
  },
};

export interface InboxOptions {
  dir: string;
  fsync_interval_ms?: number;
  cursor_interval_ms?: number;
  /** datagrams remembered for N5 */
  remember?: number;
  max_replay?: number;
  max_bytes?: number;
}

/**
 * What the journal counts (`inbox-metrics.ts` makes them prom-client metrics on the main thread;
 * the intake worker, udp-intake-worker.ts, passes plain tallies it reports to the main thread).
 */
export interface InboxMetrics {
  entries: { inc(n?: number): void };
  replayed: { inc(n?: number): void };
  commitSeconds: { observe(seconds: number): void };
}

export class UdpInbox {
  private readonly log: DurableLog<InboxEntry>;
  private readonly maxReplay: number;
  private readonly cursorIntervalMs: number;
  /** entries handed over and not done: id → rxpks outstanding (insertion order = id order) */
  private readonly outstanding = new Map<number, number>();
  private lastTracked = 0;
  private committed = 0;
  private committing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  /** N5's memory (inbox-recent.ts) */
  private readonly recent: RecentDatagrams;
  /** entries after the cursor found at open (taken once by `takeReplay`) */
  private replay: { id: number; entry: InboxEntry }[] = [];
  replayDropped = 0;
  private closed = false;

  private constructor(
    opts: InboxOptions,
    private readonly metrics: InboxMetrics,
    private readonly onError: (err: Error) => void,
  ) {
    this.log = new DurableLog<InboxEntry>(
      {
        dir: opts.dir,
        sinks: [SINK],
        fsync_interval_ms: opts.fsync_interval_ms ?? 5,
        segment_bytes: 4 * 1024 * 1024,
        max_bytes: opts.max_bytes ?? 64 * 1024 * 1024,
        when_full: 'block',
        block_timeout_ms: 0,
        read_cache_records: 0,
      },
      { wire: INBOX_WIRE },
    );
    this.recent = new RecentDatagrams(opts.remember ?? 65_536);
    this.maxReplay = opts.max_replay ?? 200_000;
    this.cursorIntervalMs = opts.cursor_interval_ms ?? 100;
    this.timer = setInterval(() => this.persistCursor(), this.cursorIntervalMs);
    this.timer.unref();
  }

  /** Opens (recovering) the journal and reads the entries after the cursor back. */
  static async open(opts: InboxOptions, metrics: InboxMetrics, onError: (err: Error) => void): Promise<UdpInbox> {
    const inbox = new UdpInbox(opts, metrics, onError);
    try {
      await inbox.log.open();
      inbox.committed = inbox.log.committedOf(SINK);
      inbox.lastTracked = inbox.committed;
      const reader = inbox.log.reader(SINK, { batchSize: 5000 });
      try {
        for (let b = await reader.read(5000); b.length > 0; b = await reader.read(5000)) {
          for (const r of b) inbox.replay.push({ id: r.id, entry: r.value });
          if (inbox.replay.length > inbox.maxReplay) {
            const over = inbox.replay.length - inbox.maxReplay;
            inbox.replayDropped += over;
            inbox.replay.splice(0, over);
          }
        }
      } finally {
        await reader.close();
      }
    } catch (err) {
      clearInterval(inbox.timer);
      await inbox.log.close().catch(() => undefined);
      throw err;
    }
    return inbox;
  }

  /** What the durable log's recovery found (the source logs it). */
  stats(): ReturnType<DurableLog['stats']> {
    return this.log.stats();
  }

  /**
   * The entries after the cursor (N4), once: each is remembered for N5 and counts as handed
   * over; the caller reports how many rxpks of each it gave the network server (`track`).
   */
  takeReplay(): { id: number; entry: InboxEntry }[] {
    const out = this.replay;
    this.replay = [];
    for (const { id, entry } of out) {
      const d = entry.datagram;
      if (d.length >= 4) this.recent.add(entry.gateway, d, id);
    }
    this.metrics.replayed.inc(out.length);
    return out;
  }

  /**
   * N5: the first copy's durability when `datagram` (a PUSH_DATA, token in bytes 1-2) is one
   * the journal already holds or is writing; undefined for a datagram not seen before.
   */
  resent(gateway: string, datagram: Buffer): Promise<number> | undefined {
    return this.recent.resent(gateway, datagram);
  }

  /** N1: resolves with the entry id once the entry is durable. */
  append(gateway: string, datagram: Buffer): Promise<number> {
    const started = performance.now();
    const durable = this.log.append({ gateway, receivedAt: Date.now(), datagram });
    const slot = this.recent.add(gateway, datagram, durable);
    durable.then(
      (id) => {
        this.recent.settled(slot, durable, id);
        this.metrics.entries.inc();
        this.metrics.commitSeconds.observe((performance.now() - started) / 1000);
      },
      () => this.recent.failed(slot, durable), // the caller hears the error
    );
    return durable;
  }

  /**
   * The pending group commit now, not at its interval: a datagram just appended holds a frame
   * whose answer has a receive window running (a confirmed uplink, a join-request). At most one
   * more fdatasync per such datagram; N1 is unchanged (the PUSH_ACK still waits for it).
   */
  flushSoon(): void {
    this.log.flushSoon();
  }

  /** An entry handed over with `refs` rxpks given to the network server (0: done at once). Ids ascending. */
  track(id: number, refs: number): void {
    if (id <= this.lastTracked) return; // a replayed entry tracked twice, or below the cursor
    this.lastTracked = id;
    if (refs > 0) this.outstanding.set(id, refs);
  }

  /** One rxpk of each of `ids` is done (N3): rejected, or its effects durable. */
  done(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      const n = this.outstanding.get(id);
      if (n === undefined) continue;
      if (n <= 1) this.outstanding.delete(id);
      else this.outstanding.set(id, n - 1);
    }
  }

  /** The highest id whose entries up to it are all done (N3). */
  get watermark(): number {
    const first = this.outstanding.keys().next();
    return first.done ? this.lastTracked : (first.value as number) - 1;
  }

  /** The cursor as persisted (entries up to it will not be replayed). */
  get committedCursor(): number {
    return this.committed;
  }

  /** Entries handed over and not done (what a restart would replay at least). */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  private persistCursor(): Promise<void> {
    if (this.closed || this.committing) return this.committing ?? Promise.resolve();
    const w = this.watermark;
    if (w <= this.committed) return Promise.resolve();
    this.committing = this.log.commit(SINK, w).then(
      () => {
        this.committed = w;
      },
      (err: unknown) => this.onError(err as Error),
    ).finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  /** Persists the cursor as far as entries are done (stop). */
  async flushCursor(): Promise<void> {
    await this.committing;
    await this.persistCursor();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushCursor().catch(() => undefined);
    this.closed = true;
    clearInterval(this.timer);
    await this.log.close();
  }
}
