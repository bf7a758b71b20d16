/**
 * Which gateways hear each device: per device (its DevEUI) the gateways that reported its recent
 * frames, so that a frame's dedup window (`dedup.ts`) can close as soon as every one of them that
 * is connected (`connected-gateways.ts`) has reported it — not only once every connected gateway
 * of the site has. With 50 connected gateways and a device heard by one or two of them, that rule
 * never closed a window early: every ACK and join-accept waited the whole window (200 ms).
 *
 * Invariants:
 * - E1 A frame is complete by this rule only if its device has a set, at least one gateway of the
 *   set is connected, and every connected gateway of the set is among its receptions. A device
 *   with no set (never heard, forgotten, evicted, heard by more than MAX_PER_DEVICE gateways)
 *   falls back to the connected-gateways rule and the full window.
 * - E2 A gateway joins a device's set as soon as it reports one of its frames (inside the window,
 *   or as a late copy after an early close: `lateCopy`), so the next frame waits for it.
 * - E3 A gateway leaves a device's set only after MISSES_TO_FORGET consecutive closed frames of the
 *   device that it did not report. A gateway that hears a device now and then stays in its set:
 *   frames it misses wait the full window (the old behaviour) rather than frames it hears closing
 *   before its copy (its RSSI/SNR would be missing from the record). A gateway that stopped
 *   sending PULL_DATA is not waited for meanwhile (E1).
 *
 * What is lost and when: the network server asks this only for frames that need an answer
 * (others wait for every copy, and their full windows teach the sets exactly). Such a frame
 * heard by a gateway that never (or not within the last MISSES_TO_FORGET frames) heard the device
 * before, whose copy comes after the copies of the set: the window has closed, that copy is a
 * `late_copy` (counted, not in the record), and the gateway is in the set from then on (E2).
 *
 * Bounded: at most `maxDevices` devices (past that the one added first is forgotten: its frames
 * wait the full window until it is learnt again) and MAX_GATEWAYS gateway EUIs (external input;
 * a frame with an EUI past that bound forgets its device's set). Memory: MAX_PER_DEVICE × 3 bytes
 * per device in typed arrays (grown by doubling) and one Map entry keyed by the session's own
 * DevEUI string: for 10,000 devices 0.55 MB of heap and 0.8 MB of typed arrays (measured).
 */
import type { Reception } from './dedup.ts';

/** Gateways remembered per device; a device heard by more has no set (E1). */
export const MAX_PER_DEVICE = 16;
/** Consecutive frames a gateway of a set may miss before it leaves the set (E3). */
export const MISSES_TO_FORGET = 8;
/** Gateway EUIs known at most (as ConnectedGateways). */
export const MAX_GATEWAYS = 4096;

export class ExpectedGateways {
  /** DevEUI → slot; Map order = order of addition (eviction: the first) */
  private readonly slots = new Map<string, number>();
  /** per slot MAX_PER_DEVICE gateway numbers (index in `euis` + 1; 0 = empty) */
  private gws = new Uint16Array(0);
  /** per slot and gateway: consecutive frames missed */
  private misses = new Uint8Array(0);
  private capacity = 0;
  private readonly free: number[] = [];
  private nextSlot = 0;
  /** gateway EUI → number (1-based) and back */
  private readonly numbers = new Map<string, number>();
  private readonly euis: string[] = [''];

  constructor(
    private readonly connected: { isConnected(gatewayEui: string, now: number): boolean },
    private readonly maxDevices = 65_536,
  ) {}

  /** Devices with a set. */
  get size(): number {
    return this.slots.size;
  }

  /** Whether the device has a set (it was heard since the start, by at most MAX_PER_DEVICE gateways). */
  knows(device: string): boolean {
    return this.slots.has(device);
  }

  /** E1: whether every connected gateway of the device's set is among `receptions`. */
  covers(device: string, receptions: readonly Reception[], now: number): boolean {
    const slot = this.slots.get(device);
    if (slot === undefined) return false;
    let required = 0;
    const base = slot * MAX_PER_DEVICE;
    for (let i = 0; i < MAX_PER_DEVICE; i++) {
      const g = this.gws[base + i] as number;
      if (g === 0) continue;
      const eui = this.euis[g] as string;
      if (!this.connected.isConnected(eui, now)) continue;
      required++;
      if (!reportedBy(receptions, eui)) return false;
    }
    return required > 0;
  }

  /** A frame of the device closed with these receptions (E2, E3). Not for late copies' own windows. */
  learn(device: string, receptions: readonly Reception[]): void {
    let slot = this.slots.get(device);
    if (slot === undefined) slot = this.add(device);
    const base = slot * MAX_PER_DEVICE;
    for (let i = 0; i < MAX_PER_DEVICE; i++) {
      const g = this.gws[base + i] as number;
      if (g === 0) continue;
      if (reportedBy(receptions, this.euis[g] as string)) this.misses[base + i] = 0;
      else if (++(this.misses[base + i] as number) >= MISSES_TO_FORGET) this.gws[base + i] = 0;
    }
    for (const r of receptions) if (!this.put(device, slot, r.gatewayEui)) return;
  }

  /** Gateway `gatewayEui` reported a frame of the device after its window closed early (E2). */
  lateCopy(device: string, gatewayEui: string): void {
    let slot = this.slots.get(device);
    if (slot === undefined) slot = this.add(device);
    this.put(device, slot, gatewayEui);
  }

  /** Forgets a device's set (its frames fall back to the full window, E1). */
  forget(device: string): void {
    const slot = this.slots.get(device);
    if (slot === undefined) return;
    this.slots.delete(device);
    this.gws.fill(0, slot * MAX_PER_DEVICE, (slot + 1) * MAX_PER_DEVICE);
    this.free.push(slot);
  }

  clear(): void {
    this.slots.clear();
    this.gws.fill(0);
    this.free.length = 0;
    this.nextSlot = 0;
  }

  /** Puts the gateway in the slot (misses 0); false when it cannot (the set is then forgotten). */
  private put(device: string, slot: number, gatewayEui: string): boolean {
    const g = this.number(gatewayEui);
    const base = slot * MAX_PER_DEVICE;
    let empty = -1;
    for (let i = 0; i < MAX_PER_DEVICE; i++) {
      const x = this.gws[base + i] as number;
      if (x === g && g !== 0) {
        this.misses[base + i] = 0;
        return true;
      }
      if (x === 0 && empty < 0) empty = i;
    }
    if (g === 0 || empty < 0) {
      this.forget(device);
      return false;
    }
    this.gws[base + empty] = g;
    this.misses[base + empty] = 0;
    return true;
  }

  private add(device: string): number {
    if (this.slots.size >= this.maxDevices) {
      const first = this.slots.keys().next().value;
      if (first !== undefined) this.forget(first);
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.capacity) this.grow(Math.min(this.maxDevices, Math.max(1024, this.capacity * 2)));
    }
    this.slots.set(device, slot);
    return slot;
  }

  private grow(capacity: number): void {
    const gws = new Uint16Array(capacity * MAX_PER_DEVICE);
    gws.set(this.gws);
    const misses = new Uint8Array(capacity * MAX_PER_DEVICE);
    misses.set(this.misses);
    this.gws = gws;
    this.misses = misses;
    this.capacity = capacity;
  }

  /** The gateway's number, 0 when MAX_GATEWAYS are known and it is not one of them. */
  private number(gatewayEui: string): number {
    const n = this.numbers.get(gatewayEui);
    if (n !== undefined) return n;
    if (this.euis.length > MAX_GATEWAYS) return 0;
    this.euis.push(gatewayEui);
    this.numbers.set(gatewayEui, this.euis.length - 1);
    return this.euis.length - 1;
  }
}

function reportedBy(receptions: readonly Reception[], gatewayEui: string): boolean {
  for (const r of receptions) if (r.gatewayEui === gatewayEui) return true;
  return false;
}
