/**
 * Cross-gateway deduplication: the same PHYPayload heard by several gateways within a window
 * (default 200 ms, ChirpStack's and lorawan-server's default) is one frame with every
 * gateway's reception. The window opens with the first copy; copies after it closes are new
 * arrivals (the network server then sees a retransmission or a replay). The same gateway
 * reporting the same frame twice (same `tmst`) inside the window is a duplicate: counted,
 * listed once. The same gateway hearing the same bytes at another `tmst` heard a second
 * transmission (a replay or a retransmission): it is processed after this window, as a frame of
 * its own, so the network server can judge it.
 *
 * Early close: when `isComplete` is set and says a frame's copies are all in (every connected
 * gateway has reported it, `connected-gateways.ts`), its window closes at once instead of
 * waiting out its length; the window stays the upper bound. Until the time the window would have
 * closed, such a frame is remembered, so that the same gateway's same copy again (same `tmst`)
 * is still a `duplicate` and not a new frame. A frame never closes early while an older frame with
 * the same `sequenceKey` (the network server gives the DevAddr) is still open: a device's frames
 * must reach the network server in the order they were sent, or the earlier one would look like
 * a replay of a counter already passed (a real device sends seconds apart, a simulator at full
 * speed does not).
 *
 * Bounded: at most `maxOpen` frames are open at once; past that, the oldest closes early.
 */
import { performance } from 'node:perf_hooks';
import type { Rxpk } from '../../lorawan/udp/types.ts';

export interface Reception {
  gatewayEui: string;
  rxpk: Rxpk;
  /** monotonic ms when the datagram arrived */
  receivedAt: number;
  /** the datagram's inbox journal entry (../sources/udp-inbox.ts), when the journal is on */
  entry?: number;
  /** handed over again from the journal at start */
  replayed?: boolean;
  /** monotonic ms when the uplink was heard, from its tmst (gateway-clock.ts); receivedAt if unknown */
  heardAt?: number;
}

interface Open {
  data: Uint8Array;
  receptions: Reception[];
  /** monotonic ms when the window closes */
  closesAt: number;
  /** sequenceKey of the frame, if any */
  seq: number | undefined;
  /** second transmissions of the same bytes, processed after this window (made for the first: rare) */
  later: Reception[] | undefined;
}

/** What an early-closed frame leaves behind: its first reception's gateway and tmst, then `more` = [gatewayEui, tmst, …]. */
interface EarlyClosed {
  /** its key in `early` (expiry walks the values, with no [key, value] pair per step) */
  key: string;
  closesAt: number;
  gatewayEui: string;
  tmst: number;
  more: (string | number)[] | undefined;
}

export class DedupWindow {
  /** insertion order = opening order = closing order (one window length for all) */
  private readonly open = new Map<string, Open>();
  /** One sweep timer instead of one timer per frame (thousands per second). */
  private sweeper: NodeJS.Timeout | undefined;
  /** whether a frame's receptions are all that can come (early close); unset = always wait */
  isComplete: ((receptions: readonly Reception[]) => boolean) | undefined;
  /** frames with the same key keep their order (early close waits for older ones) */
  sequenceKey: ((data: Uint8Array) => number | undefined) | undefined;
  /** open windows per sequence key */
  private readonly openPerSeq = new Map<number, number>();
  /** frames whose window closed early (every connected gateway had reported) */
  closedEarly = 0;
  /**
   * early-closed frames until their window's end: key → when that is and which gateway heard it
   * at which tmst (bounded like `open`). Only that, not the closed frame: at 10,000 frames/s
   * every frame's bytes, receptions and rxpk objects lived the whole window here, long enough
   * to be promoted to old space (bench/RESULTS.md, session 8 ns-alloc).
   */
  private readonly early = new Map<string, EarlyClosed>();

  constructor(
    private readonly windowMs: number,
    /** `waitedMs`: how long the frame's window was open (early close or full length) */
    private readonly onFrame: (frame: { data: Uint8Array; receptions: Reception[]; waitedMs: number }) => void,
    private readonly onDuplicate: (r: Reception) => void,
    private readonly maxOpen = 20_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Closes every window whose time is up, oldest first; re-arms while any is open. */
  private sweep(): void {
    this.sweeper = undefined;
    const t = this.now();
    for (const [key, o] of this.open) {
      if (o.closesAt > t) break;
      this.close(key);
    }
    this.arm();
  }

  private arm(): void {
    if (this.sweeper || this.open.size === 0) return;
    const first = this.open.values().next().value as Open;
    this.sweeper = setTimeout(() => this.sweep(), Math.max(1, Math.min(this.windowMs, first.closesAt - this.now())));
  }

  add(data: Uint8Array, r: Reception): void {
    // latin1: one character per byte, a distinct key per byte string, cheaper than base64
    // (read straight from a Buffer — what the UDP decoder gives — without a view of it).
    const key = (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString('latin1');
    const o = this.open.get(key);
    if (o) {
      const same = o.receptions.find((x) => x.gatewayEui === r.gatewayEui);
      if (!same) {
        o.receptions.push(r);
        if (this.mayCloseEarly(o)) this.closeEarly(key);
      } else if (same.rxpk.tmst === r.rxpk.tmst) this.onDuplicate(r);
      else if ((o.later?.length ?? 0) < 16) (o.later ??= []).push(r);
      else this.onDuplicate(r);
      return;
    }
    if (this.early.size) {
      const t = this.now();
      for (const e of this.early.values()) {
        if (e.closesAt > t) break;
        this.early.delete(e.key);
      }
      const e = this.early.get(key);
      if (e && heardBefore(e, r)) return this.onDuplicate(r);
    }
    if (this.open.size >= this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    const seq = this.sequenceKey?.(data);
    const opened = this.now();
    const receptions = [r];
    if ((seq === undefined || !this.openPerSeq.has(seq)) && this.isComplete?.(receptions)) {
      // Complete with its first copy (one connected gateway) and no older frame of its key
      // open: closed at once, never entering `open` — a Map whose table was reallocated on
      // every frame (grown on set, shrunk on delete), in old space, since the Map lives there.
      this.closedEarly++;
      this.remember(key, opened + this.windowMs, receptions);
      this.onFrame({ data, receptions, waitedMs: this.now() - opened });
      return;
    }
    const o2: Open = { data, receptions, closesAt: opened + this.windowMs, later: undefined, seq };
    this.open.set(key, o2);
    if (seq !== undefined) this.openPerSeq.set(seq, (this.openPerSeq.get(seq) ?? 0) + 1);
    if (this.mayCloseEarly(o2)) return this.closeEarly(key);
    this.arm();
  }

  private mayCloseEarly(o: Open): boolean {
    if (!this.isComplete?.(o.receptions)) return false;
    return o.seq === undefined || this.openPerSeq.get(o.seq) === 1;
  }

  private closeEarly(key: string): void {
    const o = this.open.get(key);
    if (!o) return;
    this.closedEarly++;
    this.remember(key, o.closesAt, o.receptions);
    this.close(key);
  }

  /** Keeps who reported an early-closed frame at which tmst until its window would have closed. */
  private remember(key: string, closesAt: number, receptions: readonly Reception[]): void {
    this.early.delete(key);
    if (this.early.size >= this.maxOpen) {
      const oldest = this.early.keys().next().value;
      if (oldest !== undefined) this.early.delete(oldest);
    }
    const first = receptions[0] as Reception;
    let more: (string | number)[] | undefined;
    for (let i = 1; i < receptions.length; i++) (more ??= []).push((receptions[i] as Reception).gatewayEui, (receptions[i] as Reception).rxpk.tmst);
    this.early.set(key, { key, closesAt, gatewayEui: first.gatewayEui, tmst: first.rxpk.tmst, more });
  }

  private close(key: string): void {
    const o = this.open.get(key);
    if (!o) return;
    this.open.delete(key);
    if (o.seq !== undefined) {
      const n = (this.openPerSeq.get(o.seq) ?? 1) - 1;
      if (n > 0) this.openPerSeq.set(o.seq, n);
      else this.openPerSeq.delete(o.seq);
    }
    this.onFrame({ data: o.data, receptions: o.receptions, waitedMs: this.now() - (o.closesAt - this.windowMs) });
    if (o.later) for (const r of o.later) this.add(o.data, r);
  }

  /** Closes every open window now (stop: nothing received is left behind). */
  flushAll(): void {
    for (let i = 0; i < 32 && this.open.size > 0; i++) for (const key of [...this.open.keys()]) this.close(key);
  }

  clear(): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = undefined;
    this.open.clear();
    this.early.clear();
    this.openPerSeq.clear();
  }

  get size(): number {
    return this.open.size;
  }
}

/** Whether the same gateway reported the early-closed frame at the same tmst (a duplicate). */
function heardBefore(e: EarlyClosed, r: Reception): boolean {
  if (e.gatewayEui === r.gatewayEui && e.tmst === r.rxpk.tmst) return true;
  const h = e.more;
  if (h) for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === r.gatewayEui && h[i + 1] === r.rxpk.tmst) return true;
  return false;
}
