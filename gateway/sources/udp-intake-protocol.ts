/**
 * Messages between the `semtech_udp` source (main thread, udp-intake-client.ts) and its intake
 * worker (udp-intake-worker.ts, `intake_thread: true`), and the binary form of the PUSH_DATA
 * entries the worker hands over.
 *
 * Why a binary batch: at 10,000 uplinks/s a structured clone of one object per rxpk (a dozen
 * fields, a Buffer, strings) would cost the main thread about what the JSON decode it replaces
 * cost. The worker writes each turn's durable entries into one ArrayBuffer that is transferred
 * (not copied); the main thread builds each rxpk from it with only the fields the network
 * server reads (gateway/ns/network-server.ts: tmst, freq, chan, rfch, rssi, lsnr, datr, codr,
 * time, data).
 *
 * Entry layout (little-endian), repeated:
 *   f64 id (−1: no journal entry, `inbox: false`) · f64 at · u8 flags (1: replayed) · u16 gateway
 *   index · u16 rxpk count · per rxpk: u32 tmst · f64 freq · f64 rssi (NaN: absent) · f64 lsnr
 *   (NaN: absent) · i32 chan (−1: absent) · i32 rfch (−1: absent) · u8 datr kind (0 LoRa string,
 *   1 FSK number) · datr (u8 length + latin1, or f64) · codr (u8 length + latin1, 255: absent) ·
 *   time (u8 length + latin1, 255: absent or not representable) · u16 data length · data.
 * `at`: a live entry's arrival on the worker's monotonic clock (`performance.now()` there; the
 * main thread adds the clock offset it was told at open), a replayed entry's wall-clock ms from
 * the journal. Gateway EUIs are indices into a table the worker extends in the message that
 * first uses an index (`gateways`), so the main thread makes no string per entry.
 */
import type { Rxpk, Stat } from '../../lorawan/udp/types.ts';

export interface IntakeWorkerData {
  host: string;
  port: number;
  family: 'udp4' | 'udp6';
  /** gateway EUIs allowed (lowercase hex); empty = any */
  gateways: string[];
  max_datagram_bytes: number;
  /** the inbox journal (udp-inbox.ts), or none (`inbox: false`: PUSH_ACK at once) */
  inbox: { dir: string; fsync_interval_ms: number } | null;
  /** the socket's receive buffer (setRecvBufferSize) */
  recv_buffer_bytes: number;
  /** INTAKE_BACKLOG_BYTES (tests set less) */
  backlog_bytes: number;
}

/** A datagram or part of one the source rejects: counted under `reason`, kept in the rejects file with `payload`. */
export interface IntakeReject {
  reason: string;
  detail: string;
  payload?: Uint8Array;
}

export interface IntakeRoute {
  address: string;
  port: number;
  version: number;
}

/** What the worker tallied since its last message (the main thread adds it to its metrics). */
export interface IntakeTallies {
  /** lorawan_edge_udp_datagrams_total{type} */
  datagrams: Record<string, number>;
  /** lorawan_edge_gateway_last_seen_seconds{gateway}: the last value per gateway */
  lastSeen: Record<string, number>;
  /** lorawan_edge_ns_inbox_resends_total{state="known"} */
  resends: number;
  /** lorawan_edge_ns_inbox_entries_total */
  entries: number;
  /** lorawan_edge_ns_inbox_replayed_total */
  replayed: number;
  /**
   * rxpk (and rejected rxpk) of the PUSH_DATA shed unacknowledged (the main thread overloaded, or
   * the backlog over INTAKE_BACKLOG_BYTES): lorawan_edge_ns_rejected_total{reason="overloaded"}
   */
  overloaded: number;
  /** the gateway of the last PUSH_DATA shed (the main thread's warning names one) */
  overloadedGateway?: string;
}

/** One turn of the worker: entries (a transferred buffer) and everything else that happened. */
export interface IntakeTurn {
  op: 'turn';
  /** entries in id order (N2), in the layout above; absent when none */
  entries?: ArrayBuffer;
  count: number;
  /** gateway table additions: [index, eui] */
  gateways?: [number, string][];
  /** the table starts again (before `gateways`); entries of earlier turns keep the old one */
  gatewaysReset?: boolean;
  rejects?: IntakeReject[];
  stats?: { gateway: string; stat: Stat }[];
  /** PULL_DATA: the gateway's downlink route and when (worker monotonic ms) */
  pulls?: { gateway: string; at: number; route: IntakeRoute }[];
  txAcks?: { gateway: string; token: number; error?: string }[];
  logs?: { level: 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string }[];
  tallies?: IntakeTallies;
  /** receipt → durable seconds of the journal entries (lorawan_edge_ns_inbox_commit_seconds) */
  commitSeconds?: Float64Array;
  /** the journal's persisted cursor */
  cursor: number;
}

export type FromIntake =
  | IntakeTurn
  /** the journal is open and its replay handed over (in the turns before this one) */
  | { op: 'opened'; corrupt_records: number; truncated_bytes: number; replayDropped: number; replayEntries: number; replayRxpks: number; cursor: number; clockOffsetMs: number }
  /**
   * `system`: the error's own fields (code EADDRINUSE or LOG_LOCKED, syscall, address, port,
   * path), so the CLI explains it in one line as without the thread (cli/errors.ts)
   */
  | { op: 'failed'; seq: number; message: string; system?: Record<string, string | number> }
  | { op: 'listening'; seq: number; address: string; port: number }
  | { op: 'reply'; seq: number; cursor: number }
  | { op: 'socketError'; message: string };

export type ToIntake =
  | { op: 'listen'; seq: number }
  /**
   * one rxpk of each id is done (N3), ids as a transferred Float64Array; `taken`: entries the
   * main thread has read so far (all turns together), the worker's measure of its backlog
   */
  | { op: 'done'; ids: Float64Array | undefined; taken: number }
  | { op: 'send'; datagram: Uint8Array; port: number; address: string }
  /**
   * the main thread's overload state (overload.ts: its in-flight estimate over the budget and its
   * heap over HEAP_SHED_FRACTION), sent when it changes: while on, the worker sheds PUSH_DATA
   */
  | { op: 'overload'; on: boolean }
  /** closes the socket, waits for the journal writes in flight (their entries are handed over first) */
  | { op: 'stopSocket'; seq: number }
  | { op: 'flushCursor'; seq: number }
  | { op: 'close'; seq: number };

/**
 * At most this many bytes of PUSH_DATA accepted by the worker (being journaled, or handed over)
 * and not yet read by the main thread; past it a PUSH_DATA is shed before its journal entry and
 * its PUSH_ACK (`overloaded`, every rxpk), as the main-thread path sheds past its budget and the
 * kernel drops what does not fit in the receive buffer. Bytes, not datagrams: a bound of 16,384
 * datagrams let 16,384 lora_pkt_fwd backlog datagrams of 100 rxpk (~23 KB each) wait — 1.6
 * million frames, far past the main thread's heap budget (overload.ts) once read. 4 MiB is the
 * socket's receive buffer (RECV_BUFFER_BYTES of semtech-udp.ts): ~16,000 one-rxpk PUSH_DATA of
 * ~260 bytes, what absorbed a main thread that stalls (a GC, a slow commit, a CPU taken by others)
 * before (with a first bound of 4,096 datagrams, 1,430 were dropped at 2,000/s on a loaded machine
 * where the kernel buffer had dropped none). Handed-over entries wait as entry buffers (off the
 * V8 heap) and become objects 64 at a time (udp-intake-client.ts).
 */
export const INTAKE_BACKLOG_BYTES = 4 * 1024 * 1024;
/**
 * Of that, at most this many bytes of datagrams being journaled: each keeps its decoded rxpk on
 * the worker's heap until its group commit (~3 bytes of heap per datagram byte), and the worker's
 * 16 MB old space holds ~7 MB live beside them. A commit every 5 ms at 10,000 one-rxpk
 * datagrams/s is ~13 KB; 1 MiB is a disk that stalls the commit for ~0.4 s at that rate.
 */
export const INTAKE_JOURNALING_BYTES = 1024 * 1024;

/** A FIFO of sizes: a ring of u32 that doubles when full (no heap object per datagram). */
export class SizeQueue {
  private ring = new Uint32Array(1024);
  private head = 0;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(size: number): void {
    if (this.n === this.ring.length) {
      const bigger = new Uint32Array(this.ring.length * 2);
      for (let i = 0; i < this.n; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length] as number;
      this.ring = bigger;
      this.head = 0;
    }
    this.ring[(this.head + this.n) % this.ring.length] = size;
    this.n++;
  }

  /** the oldest size (0 when empty) */
  shift(): number {
    if (this.n === 0) return 0;
    const v = this.ring[this.head] as number;
    this.head = (this.head + 1) % this.ring.length;
    this.n--;
    return v;
  }
}

export const ENTRY_REPLAYED = 1;
/** an entry id that is not a journal entry (`inbox: false`) */
export const NO_ENTRY = -1;

/** The worker's side: appends entries to a growing scratch buffer; `take()` copies them out. */
export class EntryBatchWriter {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private at = 0;
  count = 0;

  /** Starts an entry; then `rxpk()` × `rxpks`. */
  entry(id: number, at: number, replayed: boolean, gatewayIndex: number, rxpks: number): void {
    this.room(21);
    const v = this.view;
    v.setFloat64(this.at, id, true);
    v.setFloat64(this.at + 8, at, true);
    v.setUint8(this.at + 16, replayed ? ENTRY_REPLAYED : 0);
    v.setUint16(this.at + 17, gatewayIndex, true);
    v.setUint16(this.at + 19, rxpks, true);
    this.at += 21;
    this.count++;
  }

  rxpk(r: Rxpk): void {
    this.room(36 + 1 + 8 + 256 * 3 + 2 + r.data.length);
    const v = this.view;
    let o = this.at;
    v.setUint32(o, r.tmst >>> 0, true);
    v.setFloat64(o + 4, r.freq, true);
    v.setFloat64(o + 12, r.rssi ?? Number.NaN, true);
    v.setFloat64(o + 20, r.lsnr ?? Number.NaN, true);
    v.setInt32(o + 28, r.chan ?? -1, true);
    v.setInt32(o + 32, r.rfch ?? -1, true);
    o += 36;
    if (typeof r.datr === 'number') {
      v.setUint8(o, 1);
      v.setFloat64(o + 1, r.datr, true);
      o += 9;
    } else {
      v.setUint8(o, 0);
      o = this.text(o + 1, r.datr);
    }
    o = this.text(o, r.codr);
    o = this.text(o, r.time);
    v.setUint16(o, r.data.length, true);
    this.buf.set(r.data, o + 2);
    this.at = o + 2 + r.data.length;
  }

  /** The entries written since the last `take`, in a buffer of their own (to transfer). */
  take(): { buffer: ArrayBuffer; count: number } | undefined {
    if (this.count === 0) return undefined;
    const out = { buffer: this.buf.slice(0, this.at).buffer, count: this.count };
    this.at = 0;
    this.count = 0;
    return out;
  }

  /**
   * u8 length + latin1 (255: absent). A string longer than 254 characters or outside latin1 is
   * written as absent: no datr passes the codec's check like that, and a `time` or `codr` that
   * long is no time or code rate (the network server then uses its own clock, "4/5").
   */
  private text(o: number, s: string | undefined): number {
    if (s === undefined || s.length > 254 || !isLatin1(s)) {
      this.view.setUint8(o, 255);
      return o + 1;
    }
    const n = s.length;
    this.view.setUint8(o, n);
    for (let i = 0; i < n; i++) this.buf[o + 1 + i] = s.charCodeAt(i);
    return o + 1 + n;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
}

/** Receives each entry of a batch: `rxpks` is a fresh array the callee may keep. */
export type EntryVisitor = (id: number, at: number, replayed: boolean, gatewayIndex: number, rxpks: Rxpk[]) => void;

/**
 * The main thread's side: reads a batch written by EntryBatchWriter, from byte `from`, at most
 * `max` entries; returns the offset after the last entry read (`ab.byteLength` when all are).
 */
export function readEntryBatch(ab: ArrayBuffer, visit: EntryVisitor, from = 0, max = Infinity): number {
  const v = new DataView(ab);
  const bytes = Buffer.from(ab);
  const text = (o: number): [string | undefined, number] => {
    const n = v.getUint8(o);
    if (n === 255) return [undefined, o + 1];
    return [bytes.toString('latin1', o + 1, o + 1 + n), o + 1 + n];
  };
  let o = from;
  for (let read = 0; o < ab.byteLength && read < max; read++) {
    const id = v.getFloat64(o, true);
    const at = v.getFloat64(o + 8, true);
    const replayed = (v.getUint8(o + 16) & ENTRY_REPLAYED) !== 0;
    const gatewayIndex = v.getUint16(o + 17, true);
    const n = v.getUint16(o + 19, true);
    o += 21;
    const rxpks: Rxpk[] = [];
    for (let k = 0; k < n; k++) {
      const tmst = v.getUint32(o, true);
      const freq = v.getFloat64(o + 4, true);
      const rssi = v.getFloat64(o + 12, true);
      const lsnr = v.getFloat64(o + 20, true);
      const chan = v.getInt32(o + 28, true);
      const rfch = v.getInt32(o + 32, true);
      o += 36;
      let datr: string | number;
      let modu: Rxpk['modu'];
      if (v.getUint8(o) === 1) {
        datr = v.getFloat64(o + 1, true);
        modu = 'FSK';
        o += 9;
      } else {
        const [d, next] = text(o + 1);
        datr = d ?? '';
        modu = 'LORA';
        o = next;
      }
      const [codr, afterCodr] = text(o);
      const [time, afterTime] = text(afterCodr);
      o = afterTime;
      const size = v.getUint16(o, true);
      // A copy (from Buffer's pool, as the JSON decoder's base64 gave), not a view: a view kept
      // the whole turn's buffer alive as long as any of its frames was in a dedup window or a
      // batch, and those buffers reached the old space (+8 MB external memory at 2,000/s).
      const data = Buffer.from(bytes.subarray(o + 2, o + 2 + size));
      o += 2 + size;
      // One shape for every rxpk (absent optional fields are undefined, not missing).
      rxpks.push({ tmst, freq, stat: 1, modu, datr, codr, time, chan: chan < 0 ? undefined : chan, rfch: rfch < 0 ? undefined : rfch, rssi: Number.isNaN(rssi) ? undefined : rssi, lsnr: Number.isNaN(lsnr) ? undefined : lsnr, size, data });
    }
    visit(id, at, replayed, gatewayIndex, rxpks);
  }
  return o;
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}
