/**
 * When was an uplink heard, on this process's monotonic clock? The forwarder's `tmst` says it
 * exactly, on the concentrator's own clock; this module translates, per gateway.
 *
 * Why: the network server must know how much of a receive window is left. The time a datagram
 * is read says nothing about the time it spent in the kernel's receive buffer (or in a slow
 * backhaul) before that — under load, seconds. `tmst` is latched by the concentrator at the end
 * of the uplink, so `arrival − tmst` is "a fixed offset between the two clocks + this
 * datagram's delay". The smallest `arrival − tmst` seen recently is the offset plus the
 * smallest delay (the network's own latency, a few ms on a LAN); a datagram whose
 * `arrival − tmst` is larger than that waited the difference somewhere: its age.
 *
 *   heardAt = tmst (unwrapped, in ms) + min over recent datagrams of (arrival − tmst)
 *   age     = arrival − heardAt ≥ 0
 *
 * - `tmst` is a 32-bit µs counter (wraps every 71.6 min): it is unwrapped per gateway by taking
 *   the step from the previous value modulo 2^32 as signed (forward up to 35.8 min, backward
 *   for reordered datagrams), so a wrap between two datagrams is a small forward step.
 * - The minimum is kept over sliding buckets (6 × 10 s): the concentrator's crystal and the
 *   host clock drift apart by tens of ppm, so a minimum kept forever would go stale (50 ppm is
 *   3 ms per minute); a minute of buckets bounds that error to a few ms.
 * - A datagram that looks older than `resetAfterMs` (30 s) is a forwarder or concentrator
 *   restart (tmst starts again from 0), not a delay — no answer could be in time after 30 s
 *   anyway: the estimate starts again from that datagram.
 * - Until a gateway's first un-delayed datagram, the estimate includes the delay of the ones
 *   seen (the first datagram is taken as fresh): ages are then underestimated, never
 *   overestimated, so the server may still try a window it has missed, as it did before.
 *
 * Bounded: at most `maxGateways` gateways are tracked (an allow-list is optional, so EUIs are
 * external input); past that the longest-unseen one is forgotten.
 */

const U32 = 0x1_0000_0000;
const HALF = 0x8000_0000;

export interface GatewayClockOptions {
  /** width of one bucket of the sliding minimum, ms */
  bucketMs?: number;
  /** buckets kept (the minimum is over the last bucketMs × buckets) */
  buckets?: number;
  /** an apparent age beyond this is a tmst restart, ms */
  resetAfterMs?: number;
  maxGateways?: number;
}

export interface HeardEstimate {
  /** monotonic ms at which the uplink ended (as the concentrator latched tmst) */
  heardAt: number;
  /** arrival − heardAt: how long the datagram took beyond the least-delayed recent one, ms */
  ageMs: number;
}

interface Clock {
  lastTmst: number;
  /** lastTmst unwrapped, µs (exact in a double for 285 years) */
  unwrappedUs: number;
  /** [bucket index, minimum of arrival − tmst (ms)] oldest first */
  mins: [number, number][];
  /** arrival (ms) when the entry last moved to the end of the Map (least recently seen first) */
  movedAt: number;
}

/**
 * A gateway's entry moves to the end of the Map (the eviction order) at most this often: moved
 * on every uplink, the Map's table was reallocated — in old space — on nearly every datagram.
 */
const REORDER_MS = 1000;

export class GatewayClocks {
  private readonly clocks = new Map<string, Clock>();
  private readonly bucketMs: number;
  private readonly buckets: number;
  private readonly resetAfterMs: number;
  private readonly maxGateways: number;
  /** restarts detected (a tmst that jumped back more than resetAfterMs), for the metrics */
  resets = 0;

  constructor(o: GatewayClockOptions = {}) {
    this.bucketMs = o.bucketMs ?? 10_000;
    this.buckets = o.buckets ?? 6;
    this.resetAfterMs = o.resetAfterMs ?? 30_000;
    this.maxGateways = o.maxGateways ?? 4096;
  }

  /** One uplink of `gatewayEui` with counter `tmst`, whose datagram was read at `arrival` (monotonic ms). */
  observe(gatewayEui: string, tmst: number, arrival: number): HeardEstimate {
    const t = tmst >>> 0;
    let c = this.clocks.get(gatewayEui);
    if (c) {
      // Map order = least recently seen first, to within REORDER_MS (for the bound).
      if (arrival - c.movedAt >= REORDER_MS) {
        this.clocks.delete(gatewayEui);
        this.clocks.set(gatewayEui, c);
        c.movedAt = arrival;
      }
      let step = (t - c.lastTmst + U32) % U32;
      if (step >= HALF) step -= U32;
      c.unwrappedUs += step;
      c.lastTmst = t;
    } else {
      if (this.clocks.size >= this.maxGateways) {
        const oldest = this.clocks.keys().next().value;
        if (oldest !== undefined) this.clocks.delete(oldest);
      }
      c = { lastTmst: t, unwrappedUs: t, mins: [], movedAt: arrival };
      this.clocks.set(gatewayEui, c);
    }
    const sample = arrival - c.unwrappedUs / 1000;
    const bucket = Math.floor(arrival / this.bucketMs);
    while (c.mins.length && (c.mins[0] as [number, number])[0] <= bucket - this.buckets) c.mins.shift();
    let min = sample;
    for (const [, m] of c.mins) if (m < min) min = m;
    if (sample - min > this.resetAfterMs) {
      // The counter started again (forwarder restart): forget what the old counter said.
      this.resets++;
      c.mins = [];
      min = sample;
    }
    const last = c.mins[c.mins.length - 1];
    if (last && last[0] === bucket) {
      if (sample < last[1]) last[1] = sample;
    } else c.mins.push([bucket, sample]);
    const ageMs = sample - min;
    return { heardAt: arrival - ageMs, ageMs };
  }

  /** Gateways tracked (tests, bounds). */
  get size(): number {
    return this.clocks.size;
  }
}
