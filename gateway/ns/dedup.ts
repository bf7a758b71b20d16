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
 * Expected gateways (`deviceOf`, `onClosed`, `onLateCopy`: `expected-gateways.ts`): `isComplete`
 * also gets the frame's device and whether it needs an answer, so it can say "every gateway that
 * hears this device has reported", not only "every connected gateway has". Every frame that
 * closes (except a late copy's own window) is told to `onClosed` with its receptions, so the set
 * is learnt.
 *
 * Late copies: a copy from a gateway that did not report an early-closed frame, arriving before
 * the frame's window would have ended, is a late copy: handed to `onLateCopy` and not judged as a
 * frame again — before, it reached the network server as a new arrival, and a confirmed uplink's
 * late copy was ACKed a second time (another FCntDown, another gateway, the same RX1 instant).
 * A copy later than the window's end goes to the network server as before (`late_copy` there).
 *
 * Answer deadline (`needsAnswer`, `answerMs`): a frame that needs an answer (an ACK, a
 * join-accept, a MAC answer, a queued downlink) closes at most `answerMs` after its first copy,
 * even when not complete; the frame-order rule below still holds (a frame whose deadline comes
 * while an older frame of its key is open waits for the window's end). It then counts as an
 * early close: copies after it are late copies (or duplicates).
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
  /** the frame's device (`deviceOf`), if known */
  device: string | undefined;
  /** it needs an answer (`needsAnswer`) */
  answer: boolean;
  /** monotonic ms of its answer deadline, if it has one */
  answerBy: number | undefined;
}

/** How a frame's window closed (`onFrame`). */
export type DedupClose = 'window' | 'complete' | 'answer_deadline' | 'bound';

export interface ClosedFrame {
  data: Uint8Array;
  receptions: Reception[];
  /** how long the frame's window was open (early close or full length) */
  waitedMs: number;
  closed: DedupClose;
}

/** What an early-closed frame leaves behind: its first reception's gateway and tmst, then `more` = [gatewayEui, tmst, …]. */
interface EarlyClosed {
  /** its key in `early` (expiry walks the values, with no [key, value] pair per step) */
  key: string;
  closesAt: number;
  gatewayEui: string;
  tmst: number;
  more: (string | number)[] | undefined;
  device: string | undefined;
}

export class DedupWindow {
  /** insertion order = opening order = closing order (one window length for all) */
  private readonly open = new Map<string, Open>();
  /** the open frames with an answer deadline: insertion order = deadline order (one `answerMs` for all) */
  private readonly answering = new Map<string, Open>();
  /** One sweep timer instead of one timer per frame (thousands per second). */
  private sweeper: NodeJS.Timeout | undefined;
  /** monotonic ms the sweeper is set for */
  private sweepAt = Infinity;
  /** whether a frame's receptions are all that can come (early close); unset = always wait. `answer`: it needs one (`needsAnswer`) */
  isComplete: ((receptions: readonly Reception[], device: string | undefined, answer: boolean) => boolean) | undefined;
  /** frames with the same key keep their order (early close waits for older ones) */
  sequenceKey: ((data: Uint8Array) => number | undefined) | undefined;
  /** the frame's device for `isComplete` and `onClosed` (expected-gateways.ts) */
  deviceOf: ((data: Uint8Array) => string | undefined) | undefined;
  /** whether the frame (of `device`, if known) needs an answer: it closes at most `answerMs` after its first copy */
  needsAnswer: ((data: Uint8Array, device: string | undefined) => boolean) | undefined;
  /** the answer deadline, ms (≥ the window: none) */
  answerMs = Infinity;
  /** every frame that closed, but a late copy's own (what expected-gateways.ts learns from) */
  onClosed: ((device: string, receptions: readonly Reception[]) => void) | undefined;
  /** a copy from another gateway of an early-closed frame before its window would have ended; it is done here */
  onLateCopy: ((device: string | undefined, r: Reception, data: Uint8Array) => void) | undefined;
  /** open windows per sequence key */
  private readonly openPerSeq = new Map<number, number>();
  /** frames whose window closed early (complete, or at their answer deadline) */
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
    private readonly onFrame: (frame: ClosedFrame) => void,
    private readonly onDuplicate: (r: Reception) => void,
    private readonly maxOpen = 20_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Closes every window whose time is up, oldest first; re-arms while any is open. */
  private sweep(): void {
    this.sweeper = undefined;
    this.sweepAt = Infinity;
    const t = this.now();
    for (const [key, o] of this.answering) {
      if ((o.answerBy as number) > t) break;
      this.answering.delete(key);
      // The frame-order rule first: an older frame of its key is still open → the full window.
      if (this.inOrder(o)) this.closeEarly(key, 'answer_deadline');
    }
    for (const [key, o] of this.open) {
      if (o.closesAt > t) break;
      this.close(key, 'window');
    }
    this.arm();
  }

  private arm(): void {
    if (this.open.size === 0) return;
    const first = this.open.values().next().value as Open;
    const answer = this.answering.size ? (this.answering.values().next().value as Open).answerBy : undefined;
    const at = Math.min(first.closesAt, answer ?? Infinity);
    if (this.sweeper && at >= this.sweepAt) return;
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweepAt = at;
    this.sweeper = setTimeout(() => this.sweep(), Math.max(1, Math.min(this.windowMs, at - this.now())));
  }

  add(data: Uint8Array, r: Reception): void {
    const key = frameKey(data);
    const o = this.open.get(key);
    if (o) {
      const same = o.receptions.find((x) => x.gatewayEui === r.gatewayEui);
      if (!same) {
        o.receptions.push(r);
        if (this.mayCloseEarly(o)) this.closeEarly(key, 'complete');
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
      // Another gateway's copy of a frame that closed early: not a new frame (the same
      // gateway at another tmst is: a second transmission).
      if (e && this.onLateCopy && !reportedBy(e, r.gatewayEui)) {
        (e.more ??= []).push(r.gatewayEui, r.rxpk.tmst);
        return this.onLateCopy(e.device, r, data);
      }
    }
    if (this.open.size >= this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.close(oldest, 'bound');
    }
    const seq = this.sequenceKey?.(data);
    const device = this.deviceOf?.(data);
    const answer = this.needsAnswer?.(data, device) === true;
    const opened = this.now();
    const receptions = [r];
    if ((seq === undefined || !this.openPerSeq.has(seq)) && this.isComplete?.(receptions, device, answer)) {
      // Complete with its first copy (one connected gateway, or the device's only one) and no
      // older frame of its key open: closed at once, never entering `open` — a Map whose table
      // was reallocated on every frame (grown on set, shrunk on delete), in old space, since the
      // Map lives there.
      this.closedEarly++;
      this.remember(key, opened + this.windowMs, receptions, device);
      if (device !== undefined) this.onClosed?.(device, receptions);
      this.onFrame({ data, receptions, waitedMs: this.now() - opened, closed: 'complete' });
      return;
    }
    const answerBy = answer && this.answerMs < this.windowMs ? opened + this.answerMs : undefined;
    const o2: Open = { data, receptions, closesAt: opened + this.windowMs, later: undefined, seq, device, answer, answerBy };
    this.open.set(key, o2);
    if (answerBy !== undefined) this.answering.set(key, o2);
    if (seq !== undefined) this.openPerSeq.set(seq, (this.openPerSeq.get(seq) ?? 0) + 1);
    if (this.mayCloseEarly(o2)) return this.closeEarly(key, 'complete');
    this.arm();
  }

  /** Whether no older frame of the frame's sequence key is open. */
  private inOrder(o: Open): boolean {
    return o.seq === undefined || this.openPerSeq.get(o.seq) === 1;
  }

  private mayCloseEarly(o: Open): boolean {
    return this.isComplete?.(o.receptions, o.device, o.answer) === true && this.inOrder(o);
  }

  private closeEarly(key: string, how: 'complete' | 'answer_deadline'): void {
    const o = this.open.get(key);
    if (!o) return;
    this.closedEarly++;
    this.remember(key, o.closesAt, o.receptions, o.device);
    this.close(key, how);
  }

  /** Keeps who reported an early-closed frame at which tmst until its window would have closed. */
  private remember(key: string, closesAt: number, receptions: readonly Reception[], device: string | undefined): void {
    this.early.delete(key);
    if (this.early.size >= this.maxOpen) {
      const oldest = this.early.keys().next().value;
      if (oldest !== undefined) this.early.delete(oldest);
    }
    const first = receptions[0] as Reception;
    let more: (string | number)[] | undefined;
    for (let i = 1; i < receptions.length; i++) (more ??= []).push((receptions[i] as Reception).gatewayEui, (receptions[i] as Reception).rxpk.tmst);
    this.early.set(key, { key, closesAt, gatewayEui: first.gatewayEui, tmst: first.rxpk.tmst, more, device });
  }

  private close(key: string, how: DedupClose): void {
    const o = this.open.get(key);
    if (!o) return;
    this.open.delete(key);
    if (o.answerBy !== undefined) this.answering.delete(key);
    if (o.seq !== undefined) {
      const n = (this.openPerSeq.get(o.seq) ?? 1) - 1;
      if (n > 0) this.openPerSeq.set(o.seq, n);
      else this.openPerSeq.delete(o.seq);
    }
    if (o.device !== undefined) this.onClosed?.(o.device, o.receptions);
    this.onFrame({ data: o.data, receptions: o.receptions, waitedMs: this.now() - (o.closesAt - this.windowMs), closed: how });
    if (o.later) for (const r of o.later) this.add(o.data, r);
  }

  /**
   * Forgets an early-closed frame the network server judged a late copy itself (a copy that came
   * after the first frame's window, so it opened a window of its own): that window is no frame a
   * later copy belongs to. Without this, the first gateway hearing the same bytes again inside
   * it — a second transmission — was taken for another gateway's late copy of the late copy
   * (`late_copy`, not `devnonce_reuse` / `replay`). Called from `onFrame`, while the entry is new.
   */
  forget(data: Uint8Array): void {
    if (this.early.size === 0) return;
    this.early.delete(frameKey(data));
  }

  /** Closes every open window now (stop: nothing received is left behind). */
  flushAll(): void {
    for (let i = 0; i < 32 && this.open.size > 0; i++) for (const key of [...this.open.keys()]) this.close(key, 'bound');
  }

  clear(): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = undefined;
    this.sweepAt = Infinity;
    this.open.clear();
    this.answering.clear();
    this.early.clear();
    this.openPerSeq.clear();
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * A frame's key in `open` and `early`. latin1: one character per byte, a distinct key per byte
 * string, cheaper than base64 (read straight from a Buffer — what the UDP decoder gives —
 * without a view of it).
 */
function frameKey(data: Uint8Array): string {
  return (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString('latin1');
}

/** Whether the same gateway reported the early-closed frame at the same tmst (a duplicate). */
function heardBefore(e: EarlyClosed, r: Reception): boolean {
  if (e.gatewayEui === r.gatewayEui && e.tmst === r.rxpk.tmst) return true;
  const h = e.more;
  if (h) for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === r.gatewayEui && h[i + 1] === r.rxpk.tmst) return true;
  return false;
}

/** Whether the gateway reported the early-closed frame (at any tmst). */
function reportedBy(e: EarlyClosed, gatewayEui: string): boolean {
  if (e.gatewayEui === gatewayEui) return true;
  const h = e.more;
  if (h) for (let i = 0; i < h.length; i += 2) if (h[i] === gatewayEui) return true;
  return false;
}
