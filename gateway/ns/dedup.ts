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
}

interface Open {
  data: Uint8Array;
  receptions: Reception[];
  /** monotonic ms when the window closes */
  closesAt: number;
  /** second transmissions of the same bytes, processed after this window */
  later: Reception[];
}

export class DedupWindow {
  /** insertion order = opening order = closing order (one window length for all) */
  private readonly open = new Map<string, Open>();
  /** One sweep timer instead of one timer per frame (thousands per second). */
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly onFrame: (frame: { data: Uint8Array; receptions: Reception[] }) => void,
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
    const key = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    const o = this.open.get(key);
    if (o) {
      const same = o.receptions.find((x) => x.gatewayEui === r.gatewayEui);
      if (!same) o.receptions.push(r);
      else if (same.rxpk.tmst === r.rxpk.tmst) this.onDuplicate(r);
      else if (o.later.length < 16) o.later.push(r);
      else this.onDuplicate(r);
      return;
    }
    if (this.open.size >= this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    this.open.set(key, { data, receptions: [r], closesAt: this.now() + this.windowMs, later: [] });
    this.arm();
  }

  private close(key: string): void {
    const o = this.open.get(key);
    if (!o) return;
    this.open.delete(key);
    this.onFrame({ data: o.data, receptions: o.receptions });
    for (const r of o.later) this.add(o.data, r);
  }

  /** Closes every open window now (stop: nothing received is left behind). */
  flushAll(): void {
    for (let i = 0; i < 32 && this.open.size > 0; i++) for (const key of [...this.open.keys()]) this.close(key);
  }

  clear(): void {
    if (this.sweeper) clearTimeout(this.sweeper);
    this.sweeper = undefined;
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
