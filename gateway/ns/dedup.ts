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
import type { Rxpk } from '../../lorawan/udp/types.ts';

export interface Reception {
  gatewayEui: string;
  rxpk: Rxpk;
  /** monotonic ms when the datagram arrived */
  receivedAt: number;
}

interface Open {
  data: Uint8Array;
  receptions: Reception[];
  timer: NodeJS.Timeout;
  /** second transmissions of the same bytes, processed after this window */
  later: Reception[];
}

export class DedupWindow {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly windowMs: number,
    private readonly onFrame: (frame: { data: Uint8Array; receptions: Reception[] }) => void,
    private readonly onDuplicate: (r: Reception) => void,
    private readonly maxOpen = 20_000,
  ) {}

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
    const timer = setTimeout(() => this.close(key), this.windowMs);
    this.open.set(key, { data, receptions: [r], timer, later: [] });
  }

  private close(key: string): void {
    const o = this.open.get(key);
    if (!o) return;
    clearTimeout(o.timer);
    this.open.delete(key);
    this.onFrame({ data: o.data, receptions: o.receptions });
    for (const r of o.later) this.add(o.data, r);
  }

  /** Closes every open window now (stop: nothing received is left behind). */
  flushAll(): void {
    for (let i = 0; i < 32 && this.open.size > 0; i++) for (const key of [...this.open.keys()]) this.close(key);
  }

  clear(): void {
    for (const o of this.open.values()) clearTimeout(o.timer);
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
