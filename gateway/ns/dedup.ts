/**
 * Cross-gateway deduplication: the same PHYPayload heard by several gateways within a window
 * (default 200 ms, ChirpStack's and lorawan-server's default) is one frame with every
 * gateway's reception. The window opens with the first copy; copies after it closes are new
 * arrivals (the network server then sees a retransmission or a replay). The same gateway
 * reporting the same frame twice inside the window is a duplicate: counted, listed once.
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
      if (o.receptions.some((x) => x.gatewayEui === r.gatewayEui)) this.onDuplicate(r);
      else o.receptions.push(r);
      return;
    }
    if (this.open.size >= this.maxOpen) {
      const oldest = this.open.keys().next().value;
      if (oldest !== undefined) this.close(oldest);
    }
    const timer = setTimeout(() => this.close(key), this.windowMs);
    this.open.set(key, { data, receptions: [r], timer });
  }

  private close(key: string): void {
    const o = this.open.get(key);
    if (!o) return;
    clearTimeout(o.timer);
    this.open.delete(key);
    this.onFrame({ data: o.data, receptions: o.receptions });
  }

  /** Closes every open window now (stop: nothing received is left behind). */
  flushAll(): void {
    for (const key of [...this.open.keys()]) this.close(key);
  }

  clear(): void {
    for (const o of this.open.values()) clearTimeout(o.timer);
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
